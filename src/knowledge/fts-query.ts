import { sql, type SQL } from 'drizzle-orm';

export type Match = 'all' | 'any';

export const idList = (ids: string[]) => sql.join(ids.map((id) => sql`${id}::uuid`), sql`, `);

/**
 * `match: 'any'` ignores a word the planner's statistics expect in at least this many chunks of the searched
 * bases when the question holds a word at least {@link COMMON_WORD_RATIO} times rarer: ranking every chunk that
 * holds a common word costs a few ms per thousand chunks (a third of a 100,000-chunk base: ~400 ms), and
 * `ts_rank_cd` weighs words by density, not rarity, so such chunks crowd out the ones holding the question's
 * distinctive words anyway. Smaller bases (and tables never analyzed) are searched as before.
 */
export const COMMON_WORD_CHUNKS = 1000;
export const COMMON_WORD_RATIO = 10;
/**
 * How many chunks per base `match: 'any'` sets out to rank, by the statistics' estimate: `ts_rank_cd` costs
 * ~5 µs a chunk, so ranking every chunk holding any word of a question of words of similar frequency (two topic
 * words in ~1,500 chunks, an everyday one in ~9,000 of 100,000) took ~100 ms. Above it only chunks holding the
 * question's rarest words are candidates ({@link anyWordQueries}).
 */
export const ANY_RANK_BUDGET = 3000;

/**
 * The full-text queries of a search, as the columns of a one-row select: `tsq` ranks the chunks, `fq` picks
 * the candidates to rank, and `narrowed` says that `fq` matches fewer chunks than `tsq` (the caller then falls
 * back to `tsq` where the candidates are too few). 'all' is inlined, a constant the planner can weigh.
 */
export const searchQueries = (query: string, match: Match, knowledgeBaseIds: string[]): SQL =>
  match === 'any'
    ? anyWordQueries(query, knowledgeBaseIds)
    : sql`select websearch_to_tsquery('english', ${query}) as tsq, websearch_to_tsquery('english', ${query}) as fq, false as narrowed`;

/**
 * For `match: 'any'`, `tsq` is the question's words ORed, without the common ones (see {@link COMMON_WORD_CHUNKS};
 * words of similar frequency are all kept, so a question of common words only is ranked as before). How many
 * chunks hold a word is estimated, with no scan, from pg_stats: the word's share of all chunks (the tsvector's
 * most common elements; a word not listed counts as 0 for that rule, as half the least common listed share for
 * the budget, as the planner counts it) times the searched bases' rows (knowledge_base_id's most common values;
 * a base not listed is small). That assumes a word is spread evenly over the bases. A word no chunk holds (a
 * typo) is not a rarer word. Quotes, -minus and OR (anything but plain words) keep the plain OR of websearch's query.
 *
 * `fq`, when the kept words are expected in more than {@link ANY_RANK_BUDGET} chunks, is the OR of the rarest
 * kept words that fit in the budget (at least the rarest one), or, when even the rarest word is over it, the AND
 * of the kept words: the chunks ranked first are those holding the question's distinctive words (or all of its
 * words), and `tsq` still ranks them by every kept word.
 */
const anyWordQueries = (query: string, knowledgeBaseIds: string[]): SQL => sql`
  with w as (select websearch_to_tsquery('english', ${query}) as tsq),
  words as (
    select distinct l.lexeme from w, unnest(tsvector_to_array(to_tsvector('english', ${query}))) as l(lexeme)
    where w.tsq::text !~ '[!<|]'),
  stats as (select s.* from pg_stats s where s.schemaname = current_schema() and s.tablename = 'knowledge_chunk'),
  base_rows as (
    select coalesce(sum(v.freq), 0) * max(t.reltuples) as n
    from pg_class t, stats s, unnest(s.most_common_vals::text::uuid[], s.most_common_freqs) as v(id, freq)
    where t.oid = 'knowledge_chunk'::regclass and s.attname = 'knowledge_base_id' and v.id in (${idList(knowledgeBaseIds)})),
  elems as (
    select e.lexeme, e.freq from stats s, unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) as e(lexeme, freq)
    where s.attname = 'search_vector' and e.lexeme is not null),
  present as (
    select words.lexeme, coalesce(e.freq * b.n, 0) as n, coalesce(e.freq, (select min(freq) / 2 from elems)) * b.n as est
    from words cross join base_rows b left join elems e using (lexeme)
    where coalesce(e.freq * b.n, 0) >= ${COMMON_WORD_CHUNKS} or exists (
      select 1 from knowledge_chunk c
      where c.knowledge_base_id in (${idList(knowledgeBaseIds)}) and c.search_vector @@ quote_literal(words.lexeme)::tsquery)),
  kept as (
    select lexeme, coalesce(est, 0) as est from present
    where not (n >= ${COMMON_WORD_CHUNKS} and n > ${COMMON_WORD_RATIO} * (select min(n) from present))),
  rarest as (
    select lexeme, sum(est) over (order by est, lexeme) as running, row_number() over (order by est, lexeme) as i from kept),
  q as (
    select case
      when exists (select 1 from kept) and (select count(*) from kept) < (select count(*) from present)
        then (select string_agg(quote_literal(lexeme), ' | ') from kept)::tsquery
      else nullif(replace(w.tsq::text, ' & ', ' | '), '')::tsquery
    end as tsq,
    case
      when coalesce((select sum(est) from kept), 0) <= ${ANY_RANK_BUDGET} or (select count(*) from kept) < 2 then null
      when (select min(est) from kept) > ${ANY_RANK_BUDGET} then (select string_agg(quote_literal(lexeme), ' & ') from kept)::tsquery
      else (select string_agg(quote_literal(lexeme), ' | ') from rarest where running <= ${ANY_RANK_BUDGET} or i = 1)::tsquery
    end as fq
    from w)
  select tsq, coalesce(fq, tsq) as fq, fq is not null as narrowed from q`;
