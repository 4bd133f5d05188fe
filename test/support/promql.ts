// The metric names a PromQL expression reads, for the monitoring test: identifiers that are not
// function names (followed by "("), keywords, label names inside {...} or after by/without/on/
// ignoring/group_left/group_right, strings, durations in [...] or numbers. Small on purpose: the
// project's dashboard and rules only use selectors, aggregations, binary operators and functions.

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);
// aggregation operators may be followed by `by (...)`/`without (...)` before their parenthesis
const AGGREGATIONS = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio']);
const LABEL_LIST_AFTER = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

export function promqlMetricNames(expr: string): string[] {
  const names = new Set<string>();
  let i = 0;
  let lastWord = '';
  const skipTo = (close: string): void => {
    while (i < expr.length && expr[i] !== close) {
      if (expr[i] === '"' || expr[i] === "'") skipString();
      else i++;
    }
    i++;
  };
  const skipString = (): void => {
    const q = expr[i++];
    while (i < expr.length && expr[i] !== q) i += expr[i] === '\\' ? 2 : 1;
    i++;
  };
  while (i < expr.length) {
    const c = expr[i];
    if (c === '"' || c === "'" || c === '`') { skipString(); lastWord = ''; continue; }
    if (c === '{') { i++; skipTo('}'); lastWord = ''; continue; }
    if (c === '[') { i++; skipTo(']'); lastWord = ''; continue; }
    if (c === '(' && LABEL_LIST_AFTER.has(lastWord)) { i++; skipTo(')'); lastWord = ''; continue; }
    if (/[0-9.]/.test(c)) { while (i < expr.length && /[0-9a-zA-Z.]/.test(expr[i])) i++; lastWord = ''; continue; }
    const m = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(expr.slice(i));
    if (m) {
      const word = m[0];
      i += word.length;
      let j = i;
      while (expr[j] === ' ') j++;
      const isFunction = expr[j] === '(' && !LABEL_LIST_AFTER.has(word);
      if (!isFunction && !KEYWORDS.has(word.toLowerCase()) && !AGGREGATIONS.has(word)) names.add(word);
      lastWord = word;
      continue;
    }
    if (c !== ' ') lastWord = '';
    i++;
  }
  return [...names];
}
