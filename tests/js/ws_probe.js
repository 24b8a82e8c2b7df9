#!/usr/bin/env node
// A WebSocket client for tests/websocket.rs, on the `ws` package: opens
// URL asking for SUBPROTOCOL (or none), registers as NICK, and prints one
// JSON object per line on stdout:
//   {"event":"open","protocol":"<chosen subprotocol or empty>"}
//   {"event":"frame","binary":false,"data":"<one IRC line>"}  every message
//   {"event":"http","status":403}   the upgrade was refused with this status
//   {"event":"close","code":1000}   the connection ended
//   {"event":"error","message":"..."}
// After 001 it sends `PING :probe`, and after the PONG, `QUIT :bye`.
// Bounded: it exits 2 after 20 s.
//
// Usage: node ws_probe.js URL SUBPROTOCOL|none NICK [ORIGIN]
'use strict';

const WebSocket = require('ws');

const [url, proto, nick, origin] = process.argv.slice(2);
const emit = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const options = { rejectUnauthorized: false };
if (origin) {
    options.origin = origin;
}
const ws = proto === 'none' ? new WebSocket(url, options) : new WebSocket(url, proto, options);
setTimeout(() => {
    emit({ event: 'error', message: 'timeout' });
    process.exit(2);
}, 20000);

ws.on('unexpected-response', (_req, res) => {
    emit({ event: 'http', status: res.statusCode });
    process.exit(0);
});
ws.on('open', () => {
    emit({ event: 'open', protocol: ws.protocol });
    ws.send(`NICK ${nick}`);
    ws.send(`USER ${nick} 0 * :${nick} probe`);
});
ws.on('message', (data, isBinary) => {
    const text = data.toString('utf8');
    emit({ event: 'frame', binary: isBinary, data: text });
    if (/^:\S+ 001 /.test(text)) {
        ws.send('PING :probe');
    } else if (/ PONG \S+ :probe$/.test(text)) {
        ws.send('QUIT :bye');
    }
});
ws.on('close', (code) => {
    emit({ event: 'close', code });
    process.exit(0);
});
ws.on('error', (e) => emit({ event: 'error', message: String(e.message) }));
