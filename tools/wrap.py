"""Wrap the lines of notebooks' code cells that run past LIMIT characters, without changing what the code means.

Usage: python tools/wrap.py [--limit 110] [--all] nbs/07_service.ipynb [...]   (exported cells only, unless --all)

Each change is one of: a trailing comment moved above its line; a long comment or docstring re-flowed; a compound
statement (`if x: y`) split after its colon; a string split in two adjacent literals (inside brackets, or put in
brackets); a bracketed list broken after a comma, aligned under its bracket. A cell is rewritten only if its syntax
tree, string constants compared without whitespace, is unchanged; lines no rule can shorten are left as they are.
"""
import ast, io, json, re, sys, textwrap, tokenize
from pathlib import Path

LIMIT = 110


def _tokens(src: str) -> list:
    return list(tokenize.generate_tokens(io.StringIO(src).readline))


def _same(a: str, b: str) -> bool:
    "Whether two sources parse to the same tree, string constants compared with their whitespace removed."
    def norm(src):
        t = ast.parse(src)
        for n in ast.walk(t):
            if isinstance(n, ast.Constant) and isinstance(n.value, str): n.value = re.sub(r'\s+', '', n.value)
        return ast.dump(t)
    try: return norm(a) == norm(b)
    except SyntaxError: return False


def _indent(line: str) -> str: return line[:len(line) - len(line.lstrip())]


def _comment_above(lines: list, i: int, toks: list, limit: int):
    "A code line with a trailing comment: the comment goes on its own line(s) above, at the line's indent."
    com = [t for t in toks if t.type == tokenize.COMMENT and t.start[0] == i + 1]
    code = [t for t in toks if t.start[0] == i + 1 and t.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE,
                                                                       tokenize.INDENT, tokenize.DEDENT)]
    if not com or not code: return None
    c = com[0]; line = lines[i]
    head = line[:c.start[1]].rstrip()
    ind = _indent(lines[i])
    if any(t.start[0] < i + 1 <= t.end[0] or t.start[0] <= i + 1 < t.end[0] for t in toks if t.type == tokenize.STRING):
        return None  # a string runs across this line: a comment moved above could land inside it
    # a comment inside brackets that continue from an earlier line: keep the comment's indent as the line's
    text = c.string.lstrip('#').strip()
    if text.startswith(('noqa', 'type:')): return None
    body = textwrap.wrap(text, limit - len(ind) - 2)
    return lines[:i] + [f'{ind}# {w}' for w in body] + [head] + lines[i + 1:]


def _reflow_comment(lines: list, i: int, limit: int):
    "A comment-only line: re-flowed over several comment lines."
    line = lines[i]; ind = _indent(line); text = line.strip()
    if not text.startswith('#') or text.startswith(('#|', '#!')): return None
    body = textwrap.wrap(text.lstrip('#').strip(), limit - len(ind) - 2)
    return lines[:i] + [f'{ind}# {w}' for w in body] + lines[i + 1:] if len(body) > 1 else None


def _split_compound(lines: list, i: int, src: str):
    "`if x: y` (or for, while, with, else, try, except, def) on one line: `y` goes to the next line, indented."
    try: tree = ast.parse(src)
    except SyntaxError: return None
    for n in ast.walk(tree):
        for field in ('body', 'orelse', 'finalbody'):
            body = getattr(n, field, None)
            if not isinstance(body, list) or not body or not hasattr(body[0], 'lineno'): continue
            b = body[0]
            if b.lineno != i + 1 or b.end_lineno != i + 1: continue
            if not (hasattr(n, 'lineno') and n.lineno <= i + 1): continue
            line = lines[i]
            head, rest = line[:b.col_offset].rstrip(), line[b.col_offset:]
            if not head.endswith(':') or not head.strip(): continue
            if isinstance(n, ast.Lambda): continue
            new = lines[:i] + [head, _indent(line) + '    ' + rest] + lines[i + 1:]
            if _same(src, '\n'.join(new)): return new
    return None


def _split_string(lines: list, i: int, toks: list, limit: int):
    "The string token that crosses the limit, split at a space into two adjacent literals on two lines."
    line = lines[i]
    for t in toks:
        if t.type != tokenize.STRING or t.start[0] != i + 1 or t.end[0] != i + 1: continue
        s, (a, b) = t.string, (t.start[1], t.end[1])
        if b <= limit or a >= limit - 20: continue
        m = re.match(r"([rRbBfFuU]*)('''|\"\"\"|'|\")", s)
        if not m or len(m.group(2)) == 3: continue
        prefix, q = m.group(1), m.group(2)
        inner = s[len(prefix) + 1:-1]
        cut = _cut(inner, limit - a - len(prefix) - 3, 'f' in prefix.lower())
        if cut is None: continue
        plain = lambda part: prefix.replace('f', '').replace('F', '') if '{' not in part else prefix
        left, right = f'{plain(inner[:cut])}{q}{inner[:cut]}{q}', f'{plain(inner[cut:])}{q}{inner[cut:]}{q}'
        depth = _depth_at(toks, i + 1, a)
        if depth:
            new = lines[:i] + [line[:a] + left, ' ' * a + right + line[b:]] + lines[i + 1:]
        else:
            new = lines[:i] + [line[:a] + '(' + left, ' ' * (a + 1) + right + ')' + line[b:]] + lines[i + 1:]
        return new
    return None


def _cut(inner: str, room: int, fstring: bool):
    "Where to split a string's contents: after the last space before `room`, outside f-string braces, not after a backslash."
    depth, best = 0, None
    for k, ch in enumerate(inner):
        if fstring and ch == '{': depth += 1
        elif fstring and ch == '}': depth -= 1
        elif ch == ' ' and depth == 0 and 20 < k + 1 <= room and inner[k - 1] != '\\': best = k + 1
    return best


def _depth_at(toks: list, row: int, col: int) -> int:
    "How many brackets are open just before (row, col)."
    d = 0
    for t in toks:
        if t.start >= (row, col): break
        if t.type == tokenize.OP and t.string in '([{': d += 1
        elif t.type == tokenize.OP and t.string in ')]}': d -= 1
    return d


def _break_comma(lines: list, i: int, toks: list, limit: int):
    "Break after a comma before the limit, the outermost such (then the rightmost), not in a `for` target; align under its bracket."
    stack, cands = [], []
    for k, t in enumerate(toks):
        if t.start[0] > i + 1: break
        if t.type == tokenize.NAME and t.string in ('for', 'in') and stack: stack[-1][1] = t.string == 'for'
        if t.type != tokenize.OP: continue
        if t.string in '([{': stack.append([t, False])
        elif t.string in ')]}': stack and stack.pop()
        elif t.string == ',' and t.start[0] == i + 1 and stack and t.end[1] <= limit - 2 and not stack[-1][1]:
            opener = stack[-1][0]
            if opener.start[0] == i + 1 and opener.end[1] < 60 and _ends_line(toks, opener, lines[i]):
                cands.append((len(stack), -t.end[1], opener.end[1]))
    if not cands: return None
    _, at, col = min(cands); at = -at
    line = lines[i]
    if not line[at:].strip(): return None
    return lines[:i] + [line[:at].rstrip(), ' ' * col + line[at:].lstrip()] + lines[i + 1:]


def _ends_line(toks: list, opener, line: str) -> bool:
    "Whether the bracket `opener` closes past this line, or where only closers, commas and colons follow it."
    depth = 0
    for t in toks:
        if t.start <= opener.start or t.type != tokenize.OP: continue
        if t.string in '([{': depth += 1
        elif t.string in ')]}':
            if depth == 0:
                return t.start[0] != opener.start[0] or bool(re.fullmatch(r'[)\]},:\s]*(from None)?\s*(#.*)?', line[t.end[1]:]))
            depth -= 1
    return True


def _import(lines: list, i: int, limit: int):
    "`from x import a, b, ...` past the limit: the names in brackets, wrapped under the first."
    m = re.fullmatch(r'(\s*from \S+ import )([\w, ]+)', lines[i])
    if not m: return None
    head, names = m.group(1), [n.strip() for n in m.group(2).split(',')]
    body = textwrap.wrap(', '.join(names), limit - len(head) - 2, break_long_words=False)
    body = [head + '(' + body[0]] + [' ' * (len(head) + 1) + b for b in body[1:]]
    body[-1] += ')'
    return lines[:i] + body + lines[i + 1:]


def _docstring(lines: list, i: int, limit: int, src: str):
    "A one-line docstring past the limit: a triple-quoted docstring re-flowed over several lines."
    line = lines[i]; s = line.strip(); ind = _indent(line)
    m = re.fullmatch(r'([rR]?)"([^"\\]*)"', s)
    if not m: return None
    words = textwrap.wrap(m.group(2), limit - len(ind) - 3)
    body = [f'{ind}{m.group(1)}"""{words[0]}'] + [ind + w for w in words[1:]]
    body[-1] += '"""'
    new = lines[:i] + body + lines[i + 1:]
    return new if _same(src, '\n'.join(new)) else None


def wrap(src: str, limit: int = LIMIT) -> str:
    "`src` with as many of its lines past `limit` shortened as the rules can, meaning unchanged."
    lines = src.split('\n')
    if src.lstrip().startswith(('%', '!')): return src
    for _ in range(400):
        cur = '\n'.join(lines)
        try: toks = _tokens(cur)
        except (tokenize.TokenError, IndentationError, SyntaxError): return src
        long = [k for k, l in enumerate(lines) if len(l) > limit]
        changed = False
        for i in long:
            for rule in (lambda: _docstring(lines, i, limit, cur), lambda: _comment_above(lines, i, toks, limit),
                         lambda: _reflow_comment(lines, i, limit), lambda: _split_compound(lines, i, cur),
                         lambda: _import(lines, i, limit), lambda: _split_string(lines, i, toks, limit),
                         lambda: _break_comma(lines, i, toks, limit)):
                new = rule()
                if new is not None and new != lines and _same(cur, '\n'.join(new)):
                    lines, changed = new, True
                    break
            if changed: break
        if not changed: break
    out = '\n'.join(lines)
    return out if _same(src, out) else src


def main(argv=sys.argv[1:]) -> int:
    limit = int(argv[argv.index('--limit') + 1]) if '--limit' in argv else LIMIT
    every = '--all' in argv
    paths = [a for a in argv if a.endswith('.ipynb')]
    for p in paths:
        nb = json.loads(Path(p).read_text())
        before = after = 0
        for c in nb['cells']:
            if c['cell_type'] != 'code': continue
            src = ''.join(c['source'])
            if not every and not src.startswith('#| export'): continue
            body = src.split('\n', 1)
            new = body[0] + '\n' + wrap(body[1], limit) if len(body) == 2 else src
            before += sum(len(l) > limit for l in src.split('\n')); after += sum(len(l) > limit for l in new.split('\n'))
            c['source'] = new.splitlines(True)
        Path(p).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')
        print(f'{p}: lines over {limit}: {before} -> {after}')
    return 0


if __name__ == '__main__': sys.exit(main())
