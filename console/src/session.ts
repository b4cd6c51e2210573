/** The token lives in this tab's sessionStorage only: closing the tab signs out. */
const KEY = 'greenlight.token';

export const storedToken = (): string | null => sessionStorage.getItem(KEY);
export const storeToken = (token: string): void => sessionStorage.setItem(KEY, token);
export const forgetToken = (): void => sessionStorage.removeItem(KEY);
