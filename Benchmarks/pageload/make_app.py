"""Writes an app as an unbundled dev server (Vite, Next.js dev) serves it: one HTML page whose
script imports N ES modules of 2-20 KiB, a stylesheet and a few images. Seeded: every run writes
the same bytes.

usage: make_app.py OUTDIR [--modules 300]
"""
import argparse
import os
import random

parser = argparse.ArgumentParser()
parser.add_argument("outdir")
parser.add_argument("--modules", type=int, default=300)
args = parser.parse_args()
rng = random.Random(14)
os.makedirs(args.outdir, exist_ok=True)

words = ["state", "props", "render", "update", "value", "index", "count", "items", "handler", "options",
         "element", "context", "result", "config", "data", "event", "node", "child", "parent", "key",
         "effect", "memo", "store", "route", "query", "cache", "layout", "theme", "signal", "buffer"]


def module_text(number, size):
    lines = [f"// module {number}: generated like a dev server's transformed source",
             "import { register } from './runtime.js';"]
    while sum(len(line) + 1 for line in lines) < size:
        a, b, c = rng.sample(words, 3)  # distinct: a function may not repeat a parameter name
        # The line number keeps every declared name unique (a module may not declare one twice).
        n = len(lines) * 10000 + rng.randrange(10000)
        lines.append(rng.choice([
            f"export function {a}{n}({b}, {c}) {{ return {b}.{c} ?? {n}; }}",
            f"const {a}_{b}{n} = ({c}) => {c}.map((x) => x.{b} + {n}).filter(Boolean);",
            f"export function check{n}({a}, {c}) {{ if ({a}.{b} === {n}) {{ {c}.push({{ {a}, {b}: '{c}-{n}' }}); }} }}",
            f"// {a} {b} {c}: keep {n} in sync with the {c} of the {a}",
            f"export const {a}Config{n} = {{ {b}: {n}, {c}: '{a}-{b}', enabled: {str(n % 2 == 0).lower()} }};",
        ]))
    lines.append(f"register({number});")
    return "\n".join(lines) + "\n"


with open(os.path.join(args.outdir, "runtime.js"), "w") as f:
    f.write("const seen = new Set();\nexport function register(n) { seen.add(n); }\nexport function count() { return seen.size; }\n")
for number in range(args.modules):
    with open(os.path.join(args.outdir, f"m{number:03d}.js"), "w") as f:
        f.write(module_text(number, rng.randrange(2048, 20480)))
with open(os.path.join(args.outdir, "main.js"), "w") as f:
    f.writelines(f"import './m{number:03d}.js';\n" for number in range(args.modules))
    f.write("import { count } from './runtime.js';\ndocument.title = 'loaded ' + count();\n")
with open(os.path.join(args.outdir, "style.css"), "w") as f:
    for number in range(600):
        f.write(f".c{number} {{ margin: {number % 17}px; color: #{rng.randrange(1 << 24):06x}; display: flex; }}\n")
for number in range(4):
    # Images are compressed already: random bytes stand in for their entropy.
    with open(os.path.join(args.outdir, f"img{number}.png"), "wb") as f:
        f.write(rng.randbytes(rng.randrange(10240, 40960)))
with open(os.path.join(args.outdir, "favicon.ico"), "wb") as f:
    f.write(rng.randbytes(1150))
with open(os.path.join(args.outdir, "index.html"), "w") as f:
    images = "".join(f'<img src="/img{number}.png" width="32" height="32">' for number in range(4))
    f.write(f"""<!doctype html><html><head><meta charset="utf-8"><title>loading</title>
<link rel="stylesheet" href="/style.css"><script type="module" src="/main.js"></script></head>
<body><h1>dev server</h1>{images}</body></html>
""")
