/** Deterministic synthetic text for the knowledge benchmarks (bench/knowledge.ts, bench/knowledge-scale.ts). */

// Stop words first: with Zipf weights they dominate as in real prose, and to_tsvector drops them, so the
// index sees a realistic share of the text. The rest is support/product vocabulary of a typical knowledge base.
export const VOCAB = `
  the of and to a in is that for it as with be on not this are by from or at an can will your you we if customer account billing
  invoice payment refund policy order shipping delivery product service support request ticket agent response time days business
  team contact email phone address update change cancel subscription plan price discount credit card bank transfer receipt tax
  region country currency amount balance charge fee monthly annual renewal trial upgrade downgrade feature limit usage quota
  storage data export import report dashboard settings profile password security login access permission role admin user member
  invite organization workspace project integration webhook api key token error status issue problem solution step guide document
  article section example note warning important process review approval manager escalation priority urgent standard premium
  enterprise basic partner vendor supplier warehouse inventory stock item quantity package label tracking carrier return exchange
  damage warranty repair replacement claim form terms condition agreement contract notice period week month year hour minute
  schedule calendar meeting call chat message notification reminder alert mobile desktop browser application version release
  install configure connect sync backup restore network server cloud latency performance availability outage incident maintenance
  window compliance privacy consent record retention deletion audit log history timeline event activity quickly usually always
  never often sometimes carefully directly automatically manually securely new old current previous next first last available
  pending active inactive valid invalid free paid open close start stop send receive create delete edit view download upload share
  copy move check verify confirm submit complete follow ensure provide include require allow prevent help explain describe about
  after before during within without between under over through across per each every other lead staff training onboarding
  handbook holiday leave expense travel reimbursement payroll benefit`.trim().split(/\s+/);
// Rare markers: each appears in only a few chunks, the needle-in-a-haystack case of retrieval.
export const MARKERS = ['zephyrine', 'quillbrook', 'marrowfen', 'tessaract', 'obsidianlark'];
// A fixed phrase sprinkled in now and then so the quoted-phrase query finds something.
export const PHRASE = 'quarterly revenue forecast';

/** mulberry32: tiny, fast, and identical on every run for a given seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A sampler of `words` by Zipf's law: the first word is the most frequent, the n-th 1/n as often. */
export function zipf(words: readonly string[]): (rand: () => number) => string {
  let weightSum = 0;
  const cumulative = words.map((_, i) => (weightSum += 1 / (i + 1)));
  return (rand) => {
    const x = rand() * weightSum;
    let [lo, hi] = [0, cumulative.length - 1];
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      [lo, hi] = cumulative[mid]! < x ? [mid + 1, hi] : [lo, mid];
    }
    return words[lo]!;
  };
}

export const zipfWord = zipf(VOCAB);
