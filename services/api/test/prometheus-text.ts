// Reading /metrics as Prometheus would: parsed by a real parser (parse-prometheus-text-format,
// ported from the Prometheus Python client's parser), plus the checks that parser is lenient
// about, line by line against the text exposition format 0.0.4: every line a HELP, a TYPE or a
// sample; every sample's family declared once, before its samples; names, label names and
// escaping as the format allows; numbers as Go's ParseFloat reads them; histogram buckets
// cumulative, ending at +Inf with the _count. The parser folds a histogram's samples into one
// entry and loses their labels when there are any besides `le`, so histograms are read from the
// checked lines instead.
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
const VALUE = '(?:[+-]?(?:\\d+\\.?\\d*(?:[eE][+-]?\\d+)?|\\.\\d+(?:[eE][+-]?\\d+)?)|[+-]Inf|NaN)';
// Go's ParseFloat, which Prometheus reads values with, ignores case in NaN and Inf (prom-client writes `Nan`).
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(${LABEL}(?:,${LABEL})*)?,?\\})? (${VALUE})(?: -?\\d+)?$`, 'i');
const HELP = new RegExp(`^# HELP (${NAME}) (.*)$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);

const SUFFIXES: Record<string, string[]> = {
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

const toNumber = (v: string | undefined) => {
  if (v === undefined) return NaN;
  const special = v.toLowerCase();
  return special === '+inf' || special === 'inf' ? Infinity : special === '-inf' ? -Infinity : Number(v);
};

export interface RawSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"/g;
const unescape = (v: string) => v.replace(/\\([\\"n])/g, (_m, c: string) => (c === 'n' ? '\n' : c));

/** Checks every line, and answers the samples read from them. */
export function checkExposition(text: string): RawSample[] {
  const raw: RawSample[] = [];
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a line feed');
  const types = new Map<string, string>();
  const done = new Set<string>();
  let current: string | null = null;
  for (const [i, line] of text.slice(0, -1).split('\n').entries()) {
    const where = `line ${i + 1}: ${line}`;
    if (line === '') continue;
    const help = HELP.exec(line);
    const type = TYPE.exec(line);
    if (help || type) {
      const name = (help ?? type)![1];
      if (name !== current) {
        if (done.has(name) || types.has(name)) throw new Error(`family declared twice: ${where}`);
        if (current) done.add(current);
        current = name;
      }
      if (type) {
        if (types.has(name)) throw new Error(`second TYPE: ${where}`);
        types.set(name, type[2]);
      }
      continue;
    }
    if (line.startsWith('#')) throw new Error(`not a HELP or TYPE comment: ${where}`);
    const sample = SAMPLE.exec(line);
    if (!sample) throw new Error(`not a valid sample: ${where}`);
    const family = current && types.get(current);
    if (!current || !family) throw new Error(`sample before its TYPE: ${where}`);
    if (!SUFFIXES[family].some((s) => sample[1] === current + s)) throw new Error(`sample outside its family ${current}: ${where}`);
    const labels = Object.fromEntries([...(sample[2] ?? '').matchAll(LABEL_PAIR)].map((m) => [m[1], unescape(m[2])]));
    raw.push({ name: sample[1], labels, value: toNumber(sample[3]) });
  }
  return raw;
}

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

export interface Metrics {
  families: Map<string, ParsedFamily>;
  /** Plain samples (counters, gauges) of a family, with numbers. */
  samples(name: string): Sample[];
  /** The one sample whose labels include these. */
  value(name: string, labels?: Record<string, string>): number | undefined;
  histogram(name: string, labels: Record<string, string>): { count: number; sum: number; buckets: [number, number][] } | undefined;
}

const matches = (have: Record<string, string> | undefined, want: Record<string, string>) =>
  Object.entries(want).every(([k, v]) => have?.[k] === v);

export function readMetrics(text: string): Metrics {
  const raw = checkExposition(text);
  const families = new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
  // The parser and the line check must agree on what each counter and gauge holds.
  for (const f of families.values()) {
    if (f.type !== 'COUNTER' && f.type !== 'GAUGE') continue;
    const lines = raw.filter((r) => r.name === f.name);
    if (lines.length !== f.metrics.length || lines.some((r, i) => !Object.is(r.value, toNumber(f.metrics[i].value)))) {
      throw new Error(`${f.name}: the parser and the line check disagree`);
    }
  }
  const samples = (name: string) => (families.get(name)?.metrics ?? []).map((m) => ({ labels: m.labels ?? {}, value: toNumber(m.value) }));
  return {
    families,
    samples,
    value(name, labels = {}) {
      const found = samples(name).filter((s) => matches(s.labels, labels));
      if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
      return found[0]?.value;
    },
    histogram(name, labels) {
      const of = (suffix: string) => raw.filter((r) => r.name === name + suffix && matches(r.labels, labels));
      const [count] = of('_count');
      const [sum] = of('_sum');
      if (!count || !sum) return undefined;
      if (of('_count').length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches several histograms`);
      const buckets = of('_bucket')
        .map((b) => [toNumber(b.labels.le), b.value] as [number, number])
        .sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < buckets.length; i++) {
        if (buckets[i][1] < buckets[i - 1][1]) throw new Error(`${name}: buckets are not cumulative`);
      }
      if (buckets.at(-1)?.[0] !== Infinity || buckets.at(-1)?.[1] !== count.value)
        throw new Error(`${name}: the +Inf bucket is not the count`);
      return { count: count.value, sum: sum.value, buckets };
    },
  };
}
