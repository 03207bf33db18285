// SIGTERM stops the server within its grace whatever it is doing: here, a
// client that sends half a request and then stalls (which kept a graceful
// shutdown waiting for ever), while the workers run the demo's jobs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, stopServer } from './support.mjs';

test('SIGTERM stops a busy server within its grace, and it starts again on the same data', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'atalaya-e2e-shutdown-'));
  const env = { ATALAYA__SERVER__SHUTDOWN_GRACE_SECS: '2', ATALAYA__LOG__LEVEL: 'info' };
  let server = await startServer({ dataDir, demo: true, env });
  try {
    const { hostname, port } = new URL(server.url);
    // A client that sends half its request and stalls.
    const socket = connect({ host: hostname, port: Number(port) });
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`GET /w/cafe-aurora HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAccept: text/html\r\n`);
    socket.on('error', () => {});
    // The request has reached the server: it answers a probe meanwhile.
    assert.equal((await fetch(server.url + '/healthz')).status, 200);

    const started = Date.now();
    const exited = new Promise((resolve) => server.child.on('exit', (code, signal) => resolve({ code, signal })));
    server.child.kill('SIGTERM');
    const { code, signal } = await exited;
    const seconds = (Date.now() - started) / 1000;
    socket.destroy();
    assert.equal(signal, null, 'it exits by itself, not killed');
    assert.equal(code, 0, server.stderr());
    // The grace (2 s), the workers' release and the runtime's last second.
    assert.ok(seconds < 8, `stopped in ${seconds} s`);
    assert.match(server.stderr(), /shutdown grace over/);

    // Nothing half-written: the same data serves again.
    server = await startServer({ dataDir, env });
    assert.equal((await fetch(server.url + '/readyz')).status, 200);
  } finally {
    await stopServer(server);
    rmSync(dataDir, { recursive: true, force: true });
  }
});
