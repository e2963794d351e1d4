import type { ResolvedServerOptions } from '../config.js';
import type { TlsMaterial } from '../tls/certificate.js';
import { printLines } from './common.js';
import { type DemoClient, demoClientLines } from './demo-client.js';

/** What `serve` prints once it listens: where (both listeners), the certificate to trust, and the demo client if made. */
export function printStart(
  options: ResolvedServerOptions,
  port: number,
  adminPort: number | undefined,
  tls: TlsMaterial,
  demo: DemoClient | undefined,
  more: readonly string[] = [],
): void {
  const baseUrl = httpsUrl(options.host, port);
  printLines([
    `portcullis: listening on ${baseUrl} (${options.environment})`,
    ...(adminPort === undefined
      ? ['portcullis: admin listener off']
      : [
          `portcullis: dashboard, admin API, metrics and health on ${httpsUrl(options.adminHost, adminPort)}/`,
          'portcullis: sign in to the dashboard with a token from: npx portcullis admins create <NAME>',
        ]),
    ...certificateLines(tls, options.host),
    ...more,
  ]);
  if (demo === undefined) return;
  const lines = demoClientLines(demo, tls, options.tlsCert !== undefined, baseUrl);
  // The key is shown this once. Standard output also carries the JSON logs, which collectors keep: it
  // gets the key only when it is a terminal; otherwise standard error does, under a warning.
  if (process.stdout.isTTY) {
    printLines(lines);
    return;
  }
  process.stderr.write(
    `${['portcullis: warning: standard output is not a terminal, so the demo API key is written here, to standard error; whatever keeps this stream keeps the key', ...lines].join('\n')}\n`,
  );
}

function httpsUrl(host: string, port: number): string {
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function certificateLines(tls: TlsMaterial, host: string): string[] {
  const lines = [`portcullis: TLS certificate ${tls.certPath}`, `portcullis: SHA-256 ${tls.fingerprint256}`];
  if (tls.created) lines.push('portcullis: created this self-signed certificate on first start');
  if (!tls.coversHost) {
    lines.push(`portcullis: warning: the certificate does not name ${host}; clients will refuse it`);
  }
  return lines;
}
