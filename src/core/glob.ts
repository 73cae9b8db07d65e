// Model-name patterns with `*` wildcards (virtual keys' model lists, configured aliases), matched
// without regular expressions: a pattern of several `*` compiled to `.*` backtracks exponentially on a
// hostile name ("*a*a*a*a*c" against 200 a's took 7 s, and a key holder chooses both).

/**
 * Whether `text` matches `pattern`, where `*` stands for any run of characters and every other
 * character for itself (case included: a caller that ignores case lowers both). Greedy with one
 * backtrack point: at most pattern × text steps.
 */
export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let mark = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] === "*") {
      star = p++;
      mark = t;
    } else if (p < pattern.length && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (star >= 0) {
      p = star + 1;
      t = ++mark;
    } else return false;
  }
  while (p < pattern.length && pattern[p] === "*") p++;
  return p === pattern.length;
}
