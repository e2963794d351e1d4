// What the bench scripts share: starting a server process and waiting until it listens.
import { spawn } from 'node:child_process';

/**
 * Starts `node ...args` and resolves with the child and its port once it prints
 * `listening on https://host:port`; rejects if it exits first.
 */
export function startListening(args, env = {}) {
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...env },
  });
  return new Promise((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const match = /listening on https:\/\/[^\s:]+:(\d+)/.exec(output);
      if (match) resolve({ child, port: Number(match[1]) });
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
}
