/** One series selector of an expression: `name{label="v", ...}` (no name for `{__name__="..."}` without one). */
export interface PromqlSelector {
  metric: string | undefined;
  /** The label names its matchers use. */
  labels: string[];
}

/** A `by`/`without` clause (over its aggregation's argument) or an `on`/`ignoring`/`group_*` clause. */
export interface PromqlGrouping {
  clause: string;
  labels: string[];
  /** The metrics whose labels the clause can name: the aggregation's argument, or the whole expression. */
  metrics: string[];
}

/** What an expression refers to: its selectors, grouping clauses, and labels it makes itself. */
export interface PromqlReferences {
  selectors: PromqlSelector[];
  groupings: PromqlGrouping[];
  /** Labels made by label_replace / label_join (their destination) and count_values (its label). */
  createdLabels: string[];
}

const AGGREGATIONS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
]);
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan']);
const GROUPING_CLAUSES = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

type TokenType = 'ident' | 'string' | 'number' | 'punct' | 'skip';
interface Token {
  type: TokenType;
  value: string;
}

/** Splits PromQL (with Grafana's `$variables`) into tokens; range and subquery brackets are one token. */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const char = text[i]!;
    if (/\s/.test(char)) {
      i++;
    } else if (char === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (char === '"' || char === "'" || char === '`') {
      let j = i + 1;
      let value = '';
      while (j < text.length && text[j] !== char) {
        if (text[j] === '\\' && char !== '`') j++;
        value += text[j] ?? '';
        j++;
      }
      if (j >= text.length) throw new Error(`unterminated string at ${i}`);
      tokens.push({ type: 'string', value });
      i = j + 1;
    } else if (char === '[') {
      const end = text.indexOf(']', i);
      if (end === -1) throw new Error(`unterminated [ at ${i}`);
      tokens.push({ type: 'skip', value: text.slice(i, end + 1) });
      i = end + 1;
    } else if (char === '$') {
      // A Grafana variable ($__rate_interval, ${service}): stands for a value, never a metric.
      const match = /^\$(\{[^}]*\}|[A-Za-z0-9_]+)/.exec(text.slice(i));
      const length = match ? match[0].length : 1;
      tokens.push({ type: 'skip', value: text.slice(i, i + length) });
      i += length;
    } else if (/[0-9.]/.test(char)) {
      const match = /^(0x[0-9a-fA-F]+|[0-9.]+(?:[eE][+-]?\d+)?(?:[a-zA-Z0-9.]*)?)/.exec(text.slice(i))!;
      tokens.push({ type: 'number', value: match[0] });
      i += match[0].length;
    } else if (/[A-Za-z_:]/.test(char)) {
      const match = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(text.slice(i))!;
      tokens.push({ type: 'ident', value: match[0] });
      i += match[0].length;
    } else {
      const two = text.slice(i, i + 2);
      const value = ['==', '!=', '=~', '!~', '<=', '>='].includes(two) ? two : char;
      tokens.push({ type: 'punct', value });
      i += value.length;
    }
  }
  return tokens;
}

interface Aggregation {
  metrics: string[];
  clauses: { clause: string; labels: string[] }[];
}

/**
 * Reads what a PromQL expression refers to: each selector's metric name and matcher labels, each grouping
 * clause with the metrics it groups, and labels the expression makes. Not a full parser: enough to check
 * names against what the code exports. Throws on text it cannot split into tokens (an unclosed string).
 */
export function scanPromql(expression: string): PromqlReferences {
  const tokens = tokenize(expression);
  const references: PromqlReferences = { selectors: [], groupings: [], createdLabels: [] };
  const allMetrics: string[] = [];
  const aggregations: Aggregation[] = [];
  // One frame per open parenthesis: the aggregation it is the argument of, if any.
  const frames: (Aggregation | undefined)[] = [];
  let pending: Aggregation | undefined; // an aggregation whose argument's `(` has not come yet
  let justClosed: Aggregation | undefined; // the aggregation whose argument the previous token closed
  const open = () => frames.filter((frame): frame is Aggregation => frame !== undefined);

  const labelList = (start: number): { labels: string[]; end: number } => {
    const labels: string[] = [];
    let j = start + 1;
    while (j < tokens.length && tokens[j]!.value !== ')') {
      const token = tokens[j]!;
      if (token.type === 'ident' || token.type === 'string') labels.push(token.value);
      j++;
    }
    return { labels, end: j };
  };
  const matchers = (start: number): { labels: string[]; name: string | undefined; end: number } => {
    const labels: string[] = [];
    let name: string | undefined;
    let j = start + 1;
    while (j < tokens.length && tokens[j]!.value !== '}') {
      const token = tokens[j]!;
      const next = tokens[j + 1];
      if (
        (token.type === 'ident' || token.type === 'string') &&
        next?.type === 'punct' &&
        next.value !== ','
      ) {
        labels.push(token.value);
        const value = tokens[j + 2];
        if (token.value === '__name__' && next.value === '=' && value?.type === 'string') name = value.value;
        j += 3;
      } else if (token.type === 'string') {
        name = token.value; // {"metric.name"}: a quoted metric name (Prometheus 3)
        j++;
      } else j++;
    }
    return { labels, name, end: j };
  };
  // The string arguments of a call whose `(` is at `start`, by argument position (top level only).
  const stringArguments = (start: number): Map<number, string> => {
    const found = new Map<number, string>();
    let depth = 0;
    let position = 0;
    for (let j = start; j < tokens.length; j++) {
      const token = tokens[j]!;
      if (token.value === '(' || token.value === '{') depth++;
      else if (token.value === ')' || token.value === '}') {
        depth--;
        if (depth === 0) break;
      } else if (depth === 1 && token.value === ',') position++;
      else if (depth === 1 && token.type === 'string' && !found.has(position))
        found.set(position, token.value);
    }
    return found;
  };
  const addSelector = (metric: string | undefined, labels: string[]) => {
    references.selectors.push({ metric, labels });
    if (metric === undefined) return;
    allMetrics.push(metric);
    for (const aggregation of open()) aggregation.metrics.push(metric);
  };

  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const next = tokens[i + 1];
    const closed = justClosed;
    justClosed = undefined;
    if (token.type === 'ident') {
      const word = token.value.toLowerCase();
      if (GROUPING_CLAUSES.has(word)) {
        if (next?.value !== '(') continue; // group_left without labels
        const { labels, end } = labelList(i + 1);
        if (word === 'by' || word === 'without') {
          const target = pending ?? closed;
          if (target) target.clauses.push({ clause: word, labels });
          else references.groupings.push({ clause: word, labels, metrics: allMetrics });
        } else references.groupings.push({ clause: word, labels, metrics: allMetrics }); // filled by the end
        i = end;
      } else if (next?.value === '(') {
        if (AGGREGATIONS.has(word)) {
          pending = { metrics: [], clauses: [] };
          aggregations.push(pending);
          if (word === 'count_values') {
            const label = stringArguments(i + 1).get(0);
            if (label) references.createdLabels.push(label);
          }
        } else if (word === 'label_replace' || word === 'label_join') {
          const label = stringArguments(i + 1).get(1);
          if (label) references.createdLabels.push(label);
        }
      } else if (AGGREGATIONS.has(word) && /^(by|without)$/i.test(next?.value ?? '')) {
        pending = { metrics: [], clauses: [] };
        aggregations.push(pending);
      } else if (!KEYWORDS.has(word)) {
        if (next?.value === '{') {
          const { labels, end } = matchers(i + 1);
          addSelector(token.value, labels);
          i = end;
        } else addSelector(token.value, []);
      }
    } else if (token.value === '{') {
      const { labels, name, end } = matchers(i);
      addSelector(name, labels);
      i = end;
    } else if (token.value === '(') {
      frames.push(pending);
      pending = undefined;
    } else if (token.value === ')') {
      justClosed = frames.pop();
    }
  }
  for (const aggregation of aggregations) {
    for (const { clause, labels } of aggregation.clauses) {
      references.groupings.push({ clause, labels, metrics: aggregation.metrics });
    }
  }
  return references;
}
