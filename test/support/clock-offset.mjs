// Preloaded (`node --import ./test/support/clock-offset.mjs …`) into a server process whose clock
// is to be off by CLOCK_OFFSET_MS milliseconds (negative: behind): `Date.now()`, `new Date()` and
// `Date()` read the shifted clock, as they would on a machine whose clock is wrong. Dates built
// from a value are left as they are, and so are the monotonic clocks (`performance.now()`,
// timers), which a wrong wall clock does not move either.

const offset = Number(process.env.CLOCK_OFFSET_MS ?? 0);
if (!Number.isFinite(offset)) throw new Error(`CLOCK_OFFSET_MS: not a number: ${process.env.CLOCK_OFFSET_MS}`);

const RealDate = globalThis.Date;
const now = () => RealDate.now() + offset;

/** `Date` on the shifted clock; its prototype is the real one, so `instanceof Date` holds for every date. */
function ShiftedDate(...args) {
  if (!new.target) return new RealDate(now()).toString();
  return Reflect.construct(RealDate, args.length === 0 ? [now()] : args, new.target);
}
ShiftedDate.prototype = RealDate.prototype;
ShiftedDate.now = now;
ShiftedDate.parse = RealDate.parse;
ShiftedDate.UTC = RealDate.UTC;
Object.defineProperty(ShiftedDate, 'name', { value: 'Date' });
Object.defineProperty(ShiftedDate, 'length', { value: 7 });
globalThis.Date = ShiftedDate;
