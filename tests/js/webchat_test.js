#!/usr/bin/env node
// The built-in web chat page (src/net/web/chat.html) in a real headless
// Chromium, for tests/webchat.rs: playwright-core drives Debian's
// `chromium` (no browser is downloaded). It loads the page, fills in the
// nick and channel, connects, waits until the page shows it joined, and
// reports what it observes as one JSON object per line on stdout. It is
// then driven by lines on stdin:
//
//   say TEXT          type TEXT in the input line and press Enter
//   wait_text TEXT    wait until a row of the message list contains TEXT
//   wait_member NICK  wait until the member list shows NICK (any prefix)
//   wait_joined       wait until the page is joined again (after a drop)
//   reconnect         click the Connect/Reconnect button
//   dump              report the page's text (rows, members, status)
//   screenshot [WxH]  save a PNG at --screenshot (with WxH: that viewport,
//                     to PATH-WxH.png)
//   quit TEXT         type `/quit TEXT`, wait for the page to show the
//                     disconnection (and 2 s more), close the browser, exit 0
//
// End of stdin closes the browser too. A failed wait prints
// {"event":"error"} (and saves a screenshot for the post-mortem) and
// exits 1; after --timeout seconds (default 60) it prints
// {"event":"timeout"} and exits 2.
//
// Usage: node webchat_test.js --url URL --nick N --channel C
//          --screenshot PATH [--chromium /usr/bin/chromium] [--timeout S]
//          [--insecure yes]
// --insecure yes accepts any certificate (a test's self-signed one), for
// https:// pages and their wss:// connections.
//
// Events printed (always with "event"):
//   start      {playwright, browser}: versions
//   page       {status, headers}: the response to the page's GET
//   request    {url, method, type}: every HTTP request the browser made
//   websocket  {url}: every WebSocket the page opened
//   sent, received {data, binary}: every WebSocket frame either way
//   console    {type, text}: the page's console (errors included)
//   page_error {message}: an uncaught exception in the page
//   joined     {nick, target, members}: the page shows the channel joined
//   shown      {row}: the row wait_text found
//   members    {members}
//   dump       {rows, members, status, target}
//   screenshot {path, bytes}
//   closed     {status, button}: the status line and the Connect
//              button's label 2 s after quit
//   error      {message}
//   timeout
'use strict';

const readline = require('readline');
const fs = require('fs');

function fail(message) {
    process.stderr.write(`webchat_test.js: ${message}\n`);
    process.exit(64);
}

function parseArgs(argv) {
    const opts = { url: '', nick: '', channel: '', screenshot: '', chromium: '/usr/bin/chromium', timeout: 60, insecure: false };
    for (let i = 0; i < argv.length; i += 2) {
        const key = argv[i];
        const value = argv[i + 1];
        if (value === undefined) {
            fail(`${key} needs a value`);
        }
        switch (key) {
        case '--url': opts.url = value; break;
        case '--nick': opts.nick = value; break;
        case '--channel': opts.channel = value; break;
        case '--screenshot': opts.screenshot = value; break;
        case '--chromium': opts.chromium = value; break;
        case '--timeout': opts.timeout = Number(value); break;
        case '--insecure': opts.insecure = value === 'yes'; break;
        default: fail(`unknown argument ${key}`);
        }
    }
    if (!opts.url || !opts.nick || !opts.channel || !opts.screenshot || !(opts.timeout > 0)) {
        fail('--url, --nick, --channel and --screenshot are needed (and a positive --timeout)');
    }
    return opts;
}

function emit(event, fields) {
    process.stdout.write(JSON.stringify(Object.assign({ event }, fields || {})) + '\n');
}

function exit(code) {
    process.stdout.write('', () => process.exit(code));
}

const opts = parseArgs(process.argv.slice(2));
if (!fs.existsSync(opts.chromium)) {
    fail(`no Chromium at ${opts.chromium}: install the apt package chromium (scripts/test does)`);
}
const { chromium } = require('playwright-core');

// Every wait is bounded well inside the whole run's bound.
const WAIT_MS = 15000;

const timer = setTimeout(() => {
    emit('timeout', { after_s: opts.timeout });
    exit(2);
}, opts.timeout * 1000);

// The page's text, as a person would read it.
function pageText() {
    const text = (id) => document.getElementById(id).textContent;
    return {
        rows: Array.from(document.querySelectorAll('#log > div')).map((r) => r.textContent),
        members: Array.from(document.querySelectorAll('#members li')).map((li) => li.textContent),
        status: text('status'),
        target: text('target'),
    };
}

async function waitJoined(page) {
    await page.waitForFunction(
        (channel) => {
            const status = document.getElementById('status').textContent;
            const m = /^connected as (\S+)$/.exec(status);
            if (!m) {
                return false;
            }
            const members = Array.from(document.querySelectorAll('#members li'))
                .map((li) => li.textContent.replace(/^[~&@%+]/, ''));
            return document.getElementById('target').textContent.startsWith(channel + ' ')
                && members.includes(m[1]);
        },
        opts.channel,
        { timeout: WAIT_MS },
    );
    const now = await page.evaluate(pageText);
    emit('joined', { nick: now.status.replace(/^connected as /, ''), target: now.target, members: now.members });
}

async function screenshot(page, size) {
    let path = opts.screenshot;
    if (size) {
        const m = /^(\d+)x(\d+)$/.exec(size);
        if (!m) {
            throw new Error(`bad size ${size}`);
        }
        path = path.replace(/(\.png)?$/, `-${size}.png`);
        await page.setViewportSize({ width: Number(m[1]), height: Number(m[2]) });
    }
    await page.screenshot({ path, fullPage: false });
    emit('screenshot', { path, bytes: fs.statSync(path).size });
}

async function run(browser, page, verb, rest) {
    switch (verb) {
    case 'say':
        await page.fill('#input', rest, { timeout: WAIT_MS });
        await page.press('#input', 'Enter');
        return;
    case 'wait_text': {
        const handle = await page.waitForFunction(
            (needle) => Array.from(document.querySelectorAll('#log > div'))
                .map((r) => r.textContent)
                .find((t) => t.includes(needle)),
            rest,
            { timeout: WAIT_MS },
        );
        emit('shown', { row: await handle.jsonValue() });
        return;
    }
    case 'wait_member':
        await page.waitForFunction(
            (nick) => Array.from(document.querySelectorAll('#members li'))
                .some((li) => li.textContent.replace(/^[~&@%+]/, '') === nick),
            rest,
            { timeout: WAIT_MS },
        );
        emit('members', { members: (await page.evaluate(pageText)).members });
        return;
    case 'wait_joined':
        await waitJoined(page);
        return;
    case 'reconnect':
        await page.click('#go', { timeout: WAIT_MS });
        return;
    case 'dump':
        emit('dump', await page.evaluate(pageText));
        return;
    case 'screenshot':
        await screenshot(page, rest);
        return;
    case 'quit':
        await page.fill('#input', `/quit ${rest}`, { timeout: WAIT_MS });
        await page.press('#input', 'Enter');
        await page.waitForFunction(
            () => document.getElementById('status').textContent === 'disconnected',
            null,
            { timeout: WAIT_MS },
        );
        // Long enough for a (wrong) reconnection to start: the first
        // retry comes after 0.75 to 1.25 s.
        await page.waitForTimeout(2000);
        emit('closed', {
            status: (await page.evaluate(pageText)).status,
            button: await page.textContent('#go'),
        });
        await browser.close();
        clearTimeout(timer);
        exit(0);
        return;
    case '':
        return;
    default:
        emit('bad_command', { line: `${verb} ${rest}` });
    }
}

async function main() {
    emit('start', { playwright: require('playwright-core/package.json').version });
    const args = ['--disable-gpu', '--disable-dev-shm-usage'];
    if (process.getuid && process.getuid() === 0) {
        // Chromium refuses to run as root with its sandbox on.
        args.push('--no-sandbox');
    }
    const browser = await chromium.launch({ executablePath: opts.chromium, headless: true, args });
    emit('browser', { version: browser.version() });
    // UTC: the page's HH:MM stamps can be compared with `time` tags.
    const context = await browser.newContext({
        viewport: { width: 900, height: 560 },
        timezoneId: 'UTC',
        ignoreHTTPSErrors: opts.insecure,
    });
    context.on('request', (r) => emit('request', { url: r.url(), method: r.method(), type: r.resourceType() }));
    const page = await context.newPage();
    page.on('websocket', (ws) => {
        emit('websocket', { url: ws.url() });
        const frame = (f) => ({ data: String(f.payload), binary: typeof f.payload !== 'string' });
        ws.on('framesent', (f) => emit('sent', frame(f)));
        ws.on('framereceived', (f) => emit('received', frame(f)));
    });
    page.on('console', (m) => emit('console', { type: m.type(), text: m.text() }));
    page.on('pageerror', (e) => emit('page_error', { message: String(e && e.message) }));

    const response = await page.goto(opts.url, { waitUntil: 'load', timeout: WAIT_MS });
    emit('page', { status: response.status(), headers: response.headers() });
    await page.fill('#nick', opts.nick);
    await page.fill('#chan', opts.channel);
    await page.click('#go');
    await waitJoined(page);

    // Commands run one after the other, in the order they came.
    let queue = Promise.resolve();
    const failed = async (err) => {
        emit('error', { message: String(err && err.message), page: await page.evaluate(pageText).catch(() => null) });
        await page.screenshot({ path: opts.screenshot }).catch(() => {});
        exit(1);
    };
    const input = readline.createInterface({ input: process.stdin });
    input.on('line', (line) => {
        const space = line.indexOf(' ');
        const verb = space === -1 ? line : line.slice(0, space);
        const rest = space === -1 ? '' : line.slice(space + 1);
        queue = queue.then(() => run(browser, page, verb, rest)).catch(failed);
    });
    input.on('close', () => {
        queue = queue.then(async () => {
            await browser.close();
            clearTimeout(timer);
            exit(0);
        }).catch(failed);
    });
}

main().catch((err) => {
    emit('error', { message: String(err && err.stack) });
    exit(1);
});
