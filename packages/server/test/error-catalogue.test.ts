import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { errorCatalogue } from '../src/errors.js';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
const catalogueSection = readme.slice(readme.indexOf('## Error catalogue'), readme.indexOf('## Benchmarks'));

describe('the error catalogue', () => {
  it.each(Object.entries(errorCatalogue))('README lists %s with its status', (code, { status }) => {
    expect(catalogueSection).toMatch(new RegExp(`\\|\\s*\`${code}\`\\s*\\|\\s*${status}\\s*\\|`));
  });

  it('README lists no code the server does not have', () => {
    const listed = [...catalogueSection.matchAll(/^\|\s*`([a-z_]+)`\s*\|/gm)].map((match) => match[1]);
    expect(listed.sort()).toEqual(Object.keys(errorCatalogue).sort());
  });
});
