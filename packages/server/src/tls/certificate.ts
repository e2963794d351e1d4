import { webcrypto, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { preparePrivateDirectory, requirePrivateFile } from '../store/data-directory.js';

export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
  readonly certPath: string;
  /** SHA-256 fingerprint of the certificate, colon-separated hex as OpenSSL prints it. */
  readonly fingerprint256: string;
  /** True when this call created a self-signed certificate. */
  readonly created: boolean;
  /** False when the certificate does not name `host`: clients that verify it will refuse the connection. */
  readonly coversHost: boolean;
}

export interface TlsOptions {
  readonly dataDir: string;
  readonly host: string;
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
}

/** The self-signed certificate's file in the data directory, which local clients are told to trust. */
export const SELF_SIGNED_CERT = 'tls-cert.pem';
const SELF_SIGNED_KEY = 'tls-key.pem';
const SELF_SIGNED_DAYS = 825;
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '']);

/**
 * The operator's certificate when given; otherwise a self-signed one made once in the data directory
 * (ECDSA P-256) whose subject alternative names cover localhost, 127.0.0.1, ::1 and the listen host,
 * so that clients can trust it explicitly instead of turning verification off.
 */
export async function loadOrCreateTlsMaterial(options: TlsOptions): Promise<TlsMaterial> {
  if (options.certFile !== undefined && options.keyFile !== undefined) {
    return describe(
      readFileSync(options.certFile, 'utf8'),
      readFileSync(options.keyFile, 'utf8'),
      options.certFile,
      false,
      options.host,
    );
  }
  const certPath = join(options.dataDir, SELF_SIGNED_CERT);
  const keyPath = join(options.dataDir, SELF_SIGNED_KEY);
  try {
    const cert = readFileSync(certPath, 'utf8');
    const key = readFileSync(keyPath, 'utf8');
    requirePrivateFile(keyPath, 'the TLS key');
    return describe(cert, key, certPath, false, options.host);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const { cert, key } = await createSelfSigned(options.host);
  preparePrivateDirectory(options.dataDir);
  writeFileSync(keyPath, key, { mode: 0o600 });
  writeFileSync(certPath, cert, { mode: 0o644 });
  return describe(cert, key, certPath, true, options.host);
}

function describe(cert: string, key: string, certPath: string, created: boolean, host: string): TlsMaterial {
  const x509 = new X509Certificate(cert);
  const coversHost =
    WILDCARD_HOSTS.has(host) ||
    (isIP(host) ? x509.checkIP(host) !== undefined : x509.checkHost(host) !== undefined);
  return { cert, key, certPath, fingerprint256: x509.fingerprint256, created, coversHost };
}

async function createSelfSigned(host: string): Promise<{ cert: string; key: string }> {
  // @peculiar/x509 needs the reflect-metadata polyfill; load both only when a certificate is made.
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const names = new Map<string, 'dns' | 'ip'>([
    ['localhost', 'dns'],
    ['127.0.0.1', 'ip'],
    ['::1', 'ip'],
  ]);
  if (!WILDCARD_HOSTS.has(host)) names.set(host, isIP(host) ? 'ip' : 'dns');
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
      .toString('hex')
      .replace(/^[89a-f]/, '1'),
    name: 'CN=Portcullis self-signed',
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + SELF_SIGNED_DAYS * 86_400_000),
    signingAlgorithm: algorithm,
    keys,
    extensions: [
      new x509.SubjectAlternativeNameExtension([...names].map(([value, type]) => ({ type, value }))),
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  const key = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(pkcs8)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd()}\n-----END PRIVATE KEY-----\n`;
  return { cert: certificate.toString('pem'), key };
}
