// Where a server's time goes, from a V8 CPU profile (`node --cpu-prof`) taken under wrk load: the samples'
// time per request, by kind of work, so that Portcullis and the bare server can be read side by side.
// Used by `npm run bench -- --profile`; also runnable alone on one profile:
//
//   node bench/cpu-profile.js FILE.cpuprofile REQUESTS
import { readFileSync } from 'node:fs';

/** Native functions by what they do; a sample in any other native function counts as `other native`. */
const NATIVE_KINDS = new Map([
  // Writing a response on a TLS socket: encryption, then the send (on loopback, the send runs the
  // receiver's TCP path too).
  ['writev', 'TLS write (encrypt + send)'],
  ['writeBuffer', 'TLS write (encrypt + send)'],
  ['writeUtf8String', 'TLS write (encrypt + send)'],
  ['writeLatin1String', 'TLS write (encrypt + send)'],
  // fs.write of the access log, handed to libuv's thread pool.
  ['writeString', 'log write (fs)'],
  ['(garbage collector)', 'garbage collection'],
  ['(idle)', 'idle'],
]);

/** The kind of work a profile node's own time is: by native name, else by the script it runs. */
function kindOf({ functionName, url }) {
  const native = NATIVE_KINDS.get(functionName);
  if (native !== undefined) return native;
  if (url.includes('/node_modules/')) return 'dependencies';
  if (url.startsWith('node:')) return 'Node (HTTP, TLS, streams, events)';
  if (url.startsWith('file:')) return 'own code';
  return 'other native (V8, microtasks, crypto)';
}

/**
 * µs per request by kind of work, and the busiest functions of our own code (self time), from one
 * profile: the samples taken within `window` ([from, to] µs of the monotonic clock, as
 * `process.hrtime` reads it; the whole profile by default), over the `requests` served then. Idle time is
 * left out of `busy`.
 */
export function profileSummary(path, requests, [from, to] = [0, Number.POSITIVE_INFINITY]) {
  const profile = JSON.parse(readFileSync(path, 'utf8'));
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map();
  // A sample's time is the delta to the next one; timestamps are µs of the same monotonic clock.
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    const spent = profile.timeDeltas[i + 1] ?? 0;
    if (at >= from && at <= to) selfMicros.set(id, (selfMicros.get(id) ?? 0) + spent);
  });
  const kinds = new Map();
  const own = new Map();
  for (const [id, micros] of selfMicros) {
    const { callFrame } = nodes.get(id);
    const kind = kindOf(callFrame);
    kinds.set(kind, (kinds.get(kind) ?? 0) + micros / requests);
    if (kind === 'own code') {
      const name = `${callFrame.functionName || '(anonymous)'} ${callFrame.url.replace(/.*\/dist\//, '')}:${callFrame.lineNumber + 1}`;
      own.set(name, (own.get(name) ?? 0) + micros / requests);
    }
  }
  let busy = 0;
  for (const [kind, micros] of kinds) if (kind !== 'idle') busy += micros;
  const ownFunctions = [...own].sort((a, b) => b[1] - a[1]).slice(0, 12);
  return { kinds, busy, ownFunctions };
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const [path, requests] = process.argv.slice(2);
  const { kinds, busy, ownFunctions } = profileSummary(path, Number(requests));
  for (const [kind, micros] of [...kinds].sort((a, b) => b[1] - a[1])) {
    console.log(`${micros.toFixed(2).padStart(8)} µs/req  ${kind}`);
  }
  console.log(`${busy.toFixed(2).padStart(8)} µs/req  busy (all but idle)`);
  for (const [name, micros] of ownFunctions)
    console.log(`${micros.toFixed(2).padStart(8)} µs/req    ${name}`);
}
