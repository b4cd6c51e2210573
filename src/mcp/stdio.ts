/**
 * `npm run --silent mcp`: Greenlight's MCP server over stdio, for MCP clients that spawn their
 * tools. It talks to a running Greenlight (GREENLIGHT_URL) as the agent whose token is
 * GREENLIGHT_TOKEN. Nothing but JSON-RPC goes to stdout; diagnostics go to stderr.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createGreenlightClient } from '../client/node.js';
import { ConfigError, loadCliConfig } from '../config.js';
import { createMcpServer } from './tools.js';
import { PACKAGE_VERSION } from './version.js';

async function main(): Promise<void> {
  const config = loadCliConfig();
  if (!config.token) throw new ConfigError('GREENLIGHT_TOKEN: set it to the bearer token of the agent this MCP server acts as.');
  const client = createGreenlightClient({ url: config.serverUrl, token: config.token, mode: 'interrupt' });
  // A token the server refuses is refused here, before any client relies on the tools.
  const viewer = await client.viewer().catch((error: { code?: string; message?: string }) => {
    if (error.code === 'UNAUTHENTICATED') throw new ConfigError(`GREENLIGHT_TOKEN: ${error.message}`);
    console.error(`[greenlight-mcp] ${config.serverUrl} could not be reached (${error.message}); tools will report it until it can.`);
    return null;
  });
  if (viewer) console.error(`[greenlight-mcp] acting as ${viewer.name} (${viewer.id}) on ${config.serverUrl}`);
  const server = createMcpServer(client, PACKAGE_VERSION);
  const transport = new StdioServerTransport();
  transport.onclose = () => void client.close();
  await server.connect(transport);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
});
