import { describe, expect, it } from 'vitest';
import { createMatcherCache } from '../../src/pipeline/guard-cache.ts';
import { normalizeKey, normalizeText } from '../../src/pipeline/match-text.ts';
import { buildNeedleIndex } from '../../src/pipeline/needle-index.ts';

const found = async (needles: string[], text: string) => {
  const index = await buildNeedleIndex(needles.map(normalizeKey));
  const t = normalizeText(text);
  return index.find(t).map((h) => text.slice(t.from[h.start], t.to[h.end - 1]));
};

describe('normal form', () => {
  it('drops format characters, folds fullwidth forms and case, keeps offsets into the original', () => {
    const original = 'Ｈｅｌｌｏ＠Ｏａｋｌｉｎｅ．ｅｘａｍｐｌｅ and Ced\u200Bar\u00ADGoods\uFEFF ΟΔΟΣ';
    const n = normalizeText(original);
    expect(n.text).toBe('hello@oakline.example and cedargoods οδοσ');
    expect(normalizeKey('Hello@Oakline.Example')).toBe('hello@oakline.example');
    expect(normalizeKey('ΟΔΟΣ')).toBe('οδοσ');
    // The span of "cedargoods" in the original covers the zero-width space and the soft hyphen.
    const at = n.text.indexOf('cedargoods');
    expect(original.slice(n.from[at], n.to[at + 'cedargoods'.length - 1])).toBe('Ced\u200Bar\u00ADGoods');
  });

  it('composes a decomposed accent as NFKC does on the whole string; white space runs are one space', () => {
    expect(normalizeText('Mu\u0308ller  \n GmbH').text).toBe(normalizeKey('Müller GmbH'));
  });
});

describe('needle index', () => {
  it('finds needles on word boundaries only', async () => {
    const needles = ['Oakline', 'cedargoods.example', 'R-7790', '149', 'Pine & Co', 'm_oak'];
    expect(await found(needles, 'Oakline, oaklines, Oaklinex; OAKLINE.')).toEqual(['Oakline', 'OAKLINE']);
    expect(
      await found(needles, 'staff@cedargoods.example, www.cedargoods.example.org, cedargoods.example.'),
    ).toEqual(['cedargoods.example']);
    expect(await found(needles, 'R-7790 R-77901 R-7790-b XR-7790')).toEqual(['R-7790']);
    expect(await found(needles, '$149, 1490, 149.00')).toEqual(['149']);
    expect(await found(needles, 'Pine  &\nCo and m_oak2 or m_oak')).toEqual(['Pine  &\nCo', 'm_oak']);
  });

  it('reports overlapping needles (longer and shorter) and many needles at once', async () => {
    const many = Array.from({ length: 5000 }, (_, i) => `acc_${i}`);
    expect(
      await found([...many, 'Pine & Co', 'Pine & Co Rewards'], 'Pine & Co Rewards for acc_4999 and acc_12'),
    ).toEqual(['Pine & Co', 'Pine & Co Rewards', 'acc_4999', 'acc_12']);
  });
});

describe('matcher cache', () => {
  it('shares a build, drops a tenant older versions, and stays within its entry bound', async () => {
    const cache = createMatcherCache({ maxEntries: 2 });
    let builds = 0;
    const build = async () => ({ weight: 1, n: ++builds });
    const [a, b] = await Promise.all([cache.get('t1', 'v1', 'k', build), cache.get('t1', 'v1', 'k', build)]);
    expect(a).toBe(b);
    expect(builds).toBe(1);
    expect((await cache.get('t1', 'v2', 'k', build)).n).toBe(2);
    expect(cache.stats().entries).toBe(1);
    await cache.get('t2', 'v1', 'k', build);
    await cache.get('t3', 'v1', 'k', build);
    expect(cache.stats().entries).toBe(2);
    // A failed build is not kept.
    await expect(cache.get('t4', 'v1', 'k', () => Promise.reject(new Error('no')))).rejects.toThrow('no');
    expect((await cache.get('t4', 'v1', 'k', build)).n).toBe(5);
  });
});
