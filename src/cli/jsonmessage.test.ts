import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JSONMessageError, JSONMessageRenderer, progressString, type JSONMessage } from './jsonmessage';

const PULL: JSONMessage[] = [
  { status: 'Pulling from library/busybox', id: 'latest' },
  { status: 'Pulling fs layer', progressDetail: {}, id: 'aaa' },
  { status: 'Pulling fs layer', progressDetail: {}, id: 'bbb' },
  { status: 'Downloading', progressDetail: { current: 1000, total: 4000 }, progress: '[=>  ]', id: 'aaa' },
  { status: 'Download complete', progressDetail: {}, id: 'aaa' },
  { status: 'Pull complete', progressDetail: {}, id: 'bbb' },
  { status: 'Digest: sha256:abc' },
  { status: 'Status: Downloaded newer image for busybox:latest' },
];

function render(msgs: JSONMessage[], isTerminal: boolean, width = 200): string {
  let out = '';
  const r = new JSONMessageRenderer((s) => (out += s), { isTerminal, width });
  r.feed(msgs.map((m) => JSON.stringify(m)).join('\n') + '\n');
  r.end();
  return out;
}

test('piped: one plain line per status, byte-count updates dropped', () => {
  assert.equal(
    render(PULL, false),
    [
      'latest: Pulling from library/busybox',
      'aaa: Pulling fs layer',
      'bbb: Pulling fs layer',
      'aaa: Download complete',
      'bbb: Pull complete',
      'Digest: sha256:abc',
      'Status: Downloaded newer image for busybox:latest',
      '',
    ].join('\n'),
  );
});

test('terminal: a line per layer id redrawn in place with ANSI cursor movement', () => {
  const out = render(PULL, true, 120);
  const bar = '[============>                                      ]      1kB/4kB';
  assert.equal(
    out,
    'latest: Pulling from library/busybox\n' +
      '\n\x1b[1A\x1b[2K\raaa: Pulling fs layer \r\x1b[1B' +
      '\n\x1b[1A\x1b[2K\rbbb: Pulling fs layer \r\x1b[1B' +
      `\x1b[2A\x1b[2K\raaa: Downloading ${bar}\r\x1b[2B` +
      '\x1b[2A\x1b[2K\raaa: Download complete \r\x1b[2B' +
      '\x1b[1A\x1b[2K\rbbb: Pull complete \r\x1b[1B' +
      'Digest: sha256:abc\n' +
      'Status: Downloaded newer image for busybox:latest\n',
  );
  // on a narrow terminal there is no bar, only the counts
  assert.ok(render(PULL, true, 80).includes('aaa: Downloading      1kB/4kB\r'));
});

test('an error message ends the stream with its text', () => {
  let out = '';
  const r = new JSONMessageRenderer((s) => (out += s), { isTerminal: false });
  assert.throws(
    () => r.feed('{"status":"Pulling"}\n{"errorDetail":{"message":"manifest unknown"},"error":"manifest unknown"}\n'),
    (e: Error) => e instanceof JSONMessageError && e.message === 'manifest unknown',
  );
  assert.equal(out, 'Pulling\n');
});

test('messages split across chunks, stream text, aux callback, last line without newline', () => {
  let out = '';
  const aux: unknown[] = [];
  const r = new JSONMessageRenderer((s) => (out += s), { isTerminal: false, onAux: (m) => aux.push(m.aux) });
  r.feed('{"stream":"Loaded ima');
  r.feed('ge: bb:1\\n"}\n{"aux":{"ID":"sha256:x"}}\n{"status":"sha256:abc"}');
  r.end();
  assert.equal(out, 'Loaded image: bb:1\nsha256:abc\n');
  assert.deepEqual(aux, [{ ID: 'sha256:x' }]);
});

test('JSONProgress.String()', () => {
  assert.equal(progressString({}, 200), '');
  assert.equal(progressString({ current: 1500 }, 200), '   1.5kB');
  assert.equal(progressString({ current: 5, total: 4 }, 80), '      5B');
  assert.equal(progressString({ current: 2, total: 4, units: 'items' }, 80), '2/4 items');
  assert.equal(progressString({ current: 2000, total: 4000, start: 100 }, 120, 110_000), '[=========================>                         ]      2kB/4kB 10s');
});
