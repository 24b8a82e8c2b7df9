#!/usr/bin/env node
// A real IRCv3 client for tests/real_client.rs: irc-framework (the library
// behind Kiwi IRC and The Lounge) connects, negotiates its capabilities,
// joins one channel and reports what it observes as one JSON object per
// line on stdout. It is driven by lines on stdin:
//
//   say TEXT     PRIVMSG the channel (client.say)
//   quit TEXT    QUIT with TEXT, then exit 0 once the server closed
//
// End of stdin quits too. Every run is bounded: after --timeout seconds
// (default 30) it prints {"event":"timeout"} and exits 2; a connection the
// server closed before a `quit` exits 3.
//
// Usage: node ircfw_client.js [--host H] [--port P] [--nick N] [--channel C]
//          [--enable echomessage,setname,chghost] [--cap NAME]... [--timeout S]
//          [--websocket SUBPROTOCOL|none] [--tls yes] [--account NAME:PASSWORD]
// With --account it logs in with SASL PLAIN, as a user who filled in the
// account fields of Kiwi IRC or The Lounge (irc-framework's `account`).
// With --websocket it uses irc-framework's WebSocket transport (Kiwi IRC's:
// Kiwi asks for `text.ircv3.net`), on the `ws` package as the WebSocket
// that a browser would provide; --tls yes makes it wss:// (self-signed
// certificates are accepted).
// or the environment variables IRCFW_HOST, IRCFW_PORT, IRCFW_NICK,
// IRCFW_CHANNEL, IRCFW_ENABLE, IRCFW_TIMEOUT.
//
// Events printed (always with "event"):
//   start       {version}: the irc-framework version loaded
//   raw         {from_server, line}: every line either way
//   cap_ls      {caps}: the server's CAP LS, names only
//   cap_req     {caps}: what irc-framework asked for (CAP REQ)
//   cap_ack     {caps}: what the server acknowledged
//   cap_nak     {caps}
//   loggedin    {nick, account}: 900 (SASL, with --account)
//   sasl_failed {reason, message}
//   registered  {nick, caps}: on 001, caps = client.network.cap.enabled
//   join        {nick, ident, hostname, channel, time, tags}
//   userlist    {channel, users: [{nick, ident, hostname, modes}]}: NAMES
//   privmsg     {nick, ident, hostname, target, message, time, tags}
//   irc_error   {error, channel, reason, ...}: an error numeric it understood
//   unknown     {command, params}: a line it has no handler for
//   socket_error{message}
//   closed      {requested}: the connection ended
//   timeout
'use strict';

const readline = require('readline');
const IRC = require('irc-framework');

function parseArgs(argv) {
    const env = process.env;
    const opts = {
        host: env.IRCFW_HOST || '127.0.0.1',
        port: Number(env.IRCFW_PORT || 6667),
        nick: env.IRCFW_NICK || 'fw',
        channel: env.IRCFW_CHANNEL || '#test',
        enable: (env.IRCFW_ENABLE || '').split(',').filter(Boolean),
        caps: [],
        timeout: Number(env.IRCFW_TIMEOUT || 30),
        websocket: null,
        tls: false,
        account: null,
    };
    for (let i = 0; i < argv.length; i++) {
        const key = argv[i];
        const value = argv[i + 1];
        if (value === undefined) {
            fail(`${key} needs a value`);
        }
        i++;
        switch (key) {
        case '--host': opts.host = value; break;
        case '--port': opts.port = Number(value); break;
        case '--nick': opts.nick = value; break;
        case '--channel': opts.channel = value; break;
        case '--enable': opts.enable = value.split(',').filter(Boolean); break;
        case '--cap': opts.caps.push(value); break;
        case '--timeout': opts.timeout = Number(value); break;
        case '--websocket': opts.websocket = value; break;
        case '--tls': opts.tls = value === 'yes'; break;
        case '--account': {
            const colon = value.indexOf(':');
            if (colon < 1) {
                fail('--account takes NAME:PASSWORD');
            }
            opts.account = { account: value.slice(0, colon), password: value.slice(colon + 1) };
            break;
        }
        default: fail(`unknown argument ${key}`);
        }
    }
    if (!Number.isInteger(opts.port) || opts.port <= 0 || !(opts.timeout > 0)) {
        fail('bad --port or --timeout');
    }
    const known = ['echomessage', 'setname', 'chghost'];
    for (const e of opts.enable) {
        if (!known.includes(e)) {
            fail(`--enable takes ${known.join(',')}, not ${e}`);
        }
    }
    return opts;
}

function fail(message) {
    process.stderr.write(`ircfw_client.js: ${message}\n`);
    process.exit(64);
}

function emit(event, fields) {
    process.stdout.write(JSON.stringify(Object.assign({ event }, fields || {})) + '\n');
}

// Exits once stdout is flushed.
function exit(code) {
    process.stdout.write('', () => process.exit(code));
}

const opts = parseArgs(process.argv.slice(2));
emit('start', { version: require('irc-framework/package.json').version });

let transport = {};
if (opts.websocket !== null) {
    const WS = require('ws');
    // What a browser gives Kiwi IRC: a global WebSocket class.
    globalThis.WebSocket = class extends WS {
        constructor(url, protocols) {
            super(url, protocols, { rejectUnauthorized: false });
        }
    };
    transport = {
        transport: require('irc-framework/src/transports/websocket'),
        websocket_protocol: opts.websocket === 'none' ? undefined : opts.websocket,
        tls: opts.tls,
    };
}

const client = new IRC.Client({
    ...transport,
    host: opts.host,
    port: opts.port,
    nick: opts.nick,
    username: opts.nick,
    gecos: 'irc-framework test',
    auto_reconnect: false,
    enable_echomessage: opts.enable.includes('echomessage'),
    enable_setname: opts.enable.includes('setname'),
    enable_chghost: opts.enable.includes('chghost'),
    ...(opts.account ? { account: opts.account } : {}),
});
for (const cap of opts.caps) {
    client.requestCap(cap);
}

let quitting = false;
let closed = false;

const timer = setTimeout(() => {
    emit('timeout', { after_s: opts.timeout });
    exit(2);
}, opts.timeout * 1000);

function capNames(line, sub) {
    // `:server CAP nick SUB [*] :a b=c d`: the names of the last parameter.
    const at = line.indexOf(` CAP `);
    const words = line.slice(at).split(' ');
    if (words[3] !== sub) {
        return null;
    }
    const last = line.slice(line.indexOf(' :', at) + 2);
    return last.split(' ').filter(Boolean).map((c) => c.split('=')[0]);
}

client.on('raw', (ev) => {
    const line = ev.line.replace(/[\r\n]+$/, '');
    emit('raw', { from_server: ev.from_server, line });
    if (!ev.from_server) {
        const m = /^CAP REQ :(.*)$/.exec(line);
        if (m) {
            emit('cap_req', { caps: m[1].split(' ').filter(Boolean) });
        }
        return;
    }
    for (const sub of ['LS', 'ACK', 'NAK']) {
        const caps = line.includes(' CAP ') ? capNames(line, sub) : null;
        if (caps) {
            emit(`cap_${sub.toLowerCase()}`, { caps });
        }
    }
});

client.on('loggedin', (ev) => {
    emit('loggedin', { nick: ev.nick, account: ev.account });
});

client.on('sasl failed', (ev) => {
    emit('sasl_failed', { reason: ev.reason, message: ev.message });
});

client.on('registered', (ev) => {
    emit('registered', { nick: ev.nick, caps: client.network.cap.enabled.slice().sort() });
    client.join(opts.channel);
});

client.on('join', (ev) => {
    emit('join', {
        nick: ev.nick,
        ident: ev.ident,
        hostname: ev.hostname,
        channel: ev.channel,
        time: ev.time,
        tags: ev.tags || {},
    });
});

client.on('userlist', (ev) => {
    emit('userlist', {
        channel: ev.channel,
        users: ev.users.map((u) => ({
            nick: u.nick,
            ident: u.ident,
            hostname: u.hostname,
            modes: u.modes,
        })),
    });
});

client.on('privmsg', (ev) => {
    emit('privmsg', {
        nick: ev.nick,
        ident: ev.ident,
        hostname: ev.hostname,
        target: ev.target,
        message: ev.message,
        time: ev.time,
        tags: ev.tags || {},
    });
});

client.on('irc error', (ev) => emit('irc_error', ev));
client.on('unknown command', (cmd) => {
    emit('unknown', { command: cmd.command, params: cmd.params });
});
client.on('socket error', (err) => emit('socket_error', { message: String(err && err.message) }));

client.on('close', () => {
    if (closed) {
        return;
    }
    closed = true;
    clearTimeout(timer);
    emit('closed', { requested: quitting });
    exit(quitting ? 0 : 3);
});

function quit(message) {
    if (quitting) {
        return;
    }
    quitting = true;
    client.quit(message);
}

const input = readline.createInterface({ input: process.stdin });
input.on('line', (line) => {
    const space = line.indexOf(' ');
    const verb = space === -1 ? line : line.slice(0, space);
    const rest = space === -1 ? '' : line.slice(space + 1);
    switch (verb) {
    case 'say': client.say(opts.channel, rest); break;
    case 'quit': quit(rest); break;
    case '': break;
    default: emit('bad_command', { line });
    }
});
input.on('close', () => quit('stdin closed'));

client.connect();
