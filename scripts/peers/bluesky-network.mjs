// Starts a whole local Bluesky network (PLC directory, PDS, AppView and the
// services the AppView needs) from npm `@atproto/dev-env`, on fixed loopback
// ports, for the connectors' peer tests. Run by `scripts/peers/bluesky.sh start`
// with Node 22, which sets DB_POSTGRES_URL and REDIS_HOST; it runs until killed.
//
// When the network is ready it writes the PDS URL to the file named by
// BLUESKY_READY_FILE (the start script polls for it and then for the PDS's
// health endpoint) and prints it.
import { writeFileSync } from 'node:fs';
import { TestNetwork, mockMailer } from '@atproto/dev-env';

const port = (name, fallback) => Number(process.env[name] ?? fallback);

const network = await TestNetwork.create({
  dbPostgresSchema: 'atalaya',
  plc: { port: port('BLUESKY_PLC_PORT', 2582) },
  pds: {
    port: port('BLUESKY_PDS_PORT', 2583),
    hostname: 'localhost',
    inviteRequired: false,
  },
  bsky: {
    port: port('BLUESKY_APPVIEW_PORT', 2584),
    publicUrl: `http://localhost:${port('BLUESKY_APPVIEW_PORT', 2584)}`,
  },
  ozone: {
    port: port('BLUESKY_OZONE_PORT', 2587),
    // dev-env's own CLI points Ozone at a chat service it does not run either.
    chatUrl: 'http://localhost:2590',
    chatDid: 'did:example:chat',
  },
});
// Account creation sends a confirmation email: log it instead of mailing.
mockMailer(network.pds);

const pdsUrl = network.pds.url;
if (process.env.BLUESKY_READY_FILE) {
  writeFileSync(process.env.BLUESKY_READY_FILE, `${pdsUrl}\n`);
}
console.log(`bluesky network ready: PDS ${pdsUrl}, AppView ${network.bsky.url}, PLC ${network.plc.url}`);

const shutdown = async () => {
  try {
    await network.close();
  } finally {
    process.exit(0);
  }
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
