"""Build the training corpus for the default token classifier.

Every chunk is plain text (at most ~1,400 characters, split at line ends) with the
source kind and the license of the text it came from. Sources, all local and permissive:

* crate_md    Markdown files (README, CHANGELOG, docs) of the crates in the local cargo
              registry source cache; license = the crate's `license` field in Cargo.toml.
* crate_doc   Rust doc comments (`///`, `//!`) from the same crates.
* crate_code  Short Rust source excerpts from the same crates.
* py_doc      Docstrings of the Python standard library that runs this script (PSF-2.0).
* synthetic   Tool-output-like text generated here (build/test logs, grep output, JSON API
              responses, unified diffs of real source, stack traces, shell sessions,
              chat-like turns around doc paragraphs). Written by this script: same license
              as the project; embedded excerpts keep their crate's license in `license`.

Output: corpus.jsonl (one chunk per line: id, source, license, split, text), shuffled
with a fixed seed. Split is by document so held-out text never shares a document with
training text.

Listed crates (`--crates`, `--extend`) missing from the cargo cache are downloaded from
crates.io into OUT_DIR/crates, each checked against the sha256 of the crates.io index.

Usage: python corpus.py OUT_DIR [--crates crates.txt]
"""
import argparse
import ast
import difflib
import glob
import hashlib
import json
import os
import random
import re
import sys
import sysconfig

SEED = 20261121
MAX_CHARS = 1400
MIN_CHARS = 200


def chunk_text(text, max_chars=MAX_CHARS, min_chars=MIN_CHARS):
    """Split at line ends into chunks of at most max_chars; long lines split at spaces."""
    lines = []
    for line in text.splitlines():
        while len(line) > max_chars:
            cut = line.rfind(" ", 0, max_chars)
            cut = cut if cut > max_chars // 2 else max_chars
            lines.append(line[:cut])
            line = line[cut:].lstrip()
        lines.append(line)
    out, cur, n = [], [], 0
    for line in lines:
        if n + len(line) + 1 > max_chars and cur:
            out.append("\n".join(cur))
            cur, n = [], 0
        cur.append(line)
        n += len(line) + 1
    if cur:
        out.append("\n".join(cur))
    out = [c.strip("\n") for c in out]
    return [c for c in out if len(c.strip()) >= min_chars]


def crate_dirs(only=None, fetched=None):
    """Unpacked crates in the local cargo cache (name-version folders), sorted, then those in
    `fetched` (a folder fetch_crates filled) that the cache lacks.

    only: a set of folder names to restrict to (crates.txt), since the cache grows as
    other builds fetch crates.
    """
    home = os.path.expanduser("~/.cargo/registry/src")
    dirs = glob.glob(os.path.join(home, "*", "*")) + (glob.glob(os.path.join(fetched, "*")) if fetched else [])
    dirs = [d for d in dirs if os.path.isfile(os.path.join(d, "Cargo.toml"))]
    first = {}
    for d in dirs:
        first.setdefault(os.path.basename(d), d)
    dirs = sorted(first.values(), key=os.path.basename)
    if only is not None:
        missing = sorted(only - {os.path.basename(d) for d in dirs})
        if missing:
            print(f"warning: {len(missing)} listed crates are not in the cargo cache, e.g. {missing[:5]}",
                  file=sys.stderr)
        dirs = [d for d in dirs if os.path.basename(d) in only]
    return dirs


def split_folder(folder):
    """(name, version) of a cargo cache folder `name-version`, or None."""
    m = re.match(r"^(.+?)-(\d+\.\d+\.\d+.*)$", folder)
    return m.groups() if m else None


def index_path(name):
    """A crate's file in the crates.io index (its sparse-index layout)."""
    n = name.lower()
    if len(n) <= 2:
        return f"{len(n)}/{n}"
    if len(n) == 3:
        return f"3/{n[0]}/{n}"
    return f"{n[:2]}/{n[2:4]}/{n}"


def fetch_crates(only, dest):
    """Download the listed name-version crate folders that neither the cargo cache nor `dest`
    holds from crates.io into `dest`, each checked against the sha256 the crates.io index
    records for it. A crate that cannot be fetched is reported and left out."""
    import io
    import tarfile
    import urllib.request
    have = {os.path.basename(d) for d in crate_dirs(None, dest)}
    for folder in sorted(only - have):
        try:
            parts = split_folder(folder)
            if not parts:
                raise ValueError("not a name-version folder")
            name, vers = parts
            with urllib.request.urlopen(f"https://index.crates.io/{index_path(name)}", timeout=60) as r:
                index = [json.loads(l) for l in r.read().decode().splitlines() if l.strip()]
            cksum = next(e["cksum"] for e in index if e["vers"] == vers)
            with urllib.request.urlopen(f"https://static.crates.io/crates/{name}/{folder}.crate",
                                        timeout=120) as r:
                data = r.read()
            if hashlib.sha256(data).hexdigest() != cksum:
                raise ValueError("sha256 differs from the crates.io index")
            os.makedirs(dest, exist_ok=True)
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as t:
                t.extractall(dest, filter="data")
            print(f"fetched {folder} from crates.io (sha256 checked)", file=sys.stderr)
        except (StopIteration, OSError, ValueError, tarfile.TarError) as e:
            print(f"warning: could not fetch {folder}: {e!r}", file=sys.stderr)


def crate_license(d):
    try:
        with open(os.path.join(d, "Cargo.toml"), encoding="utf-8") as f:
            for line in f:
                m = re.match(r'^license\s*=\s*"(.*)"', line)
                if m:
                    return m.group(1)
    except OSError:
        pass
    return None


def read(path, limit=200_000):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read(limit)
    except (OSError, UnicodeDecodeError):
        return ""


def crate_docs(rng, only=None, fetched=None):
    """(doc_id, source, license, text) for crate markdown, doc comments and code."""
    docs = []
    for d in crate_dirs(only, fetched):
        lic = crate_license(d)
        if not lic:
            continue  # no declared license: leave it out
        name = os.path.basename(d)
        for md in sorted(glob.glob(os.path.join(d, "**", "*.md"), recursive=True)):
            text = read(md)[:12_000]
            if len(text) > MIN_CHARS:
                docs.append((f"{name}/{os.path.relpath(md, d)}", "crate_md", lic, text))
        rs_files = sorted(glob.glob(os.path.join(d, "**", "*.rs"), recursive=True))
        rng.shuffle(rs_files)
        for rs in rs_files[:6]:
            src = read(rs)
            doc_lines, paras = [], []
            for line in src.splitlines():
                s = line.strip()
                if s.startswith("///") or s.startswith("//!"):
                    doc_lines.append(s[3:].strip())
                elif doc_lines:
                    if len(doc_lines) >= 3:
                        paras.append("\n".join(doc_lines))
                    doc_lines = []
            if paras:
                docs.append((f"{name}/{os.path.relpath(rs, d)}#doc", "crate_doc", lic,
                             "\n\n".join(paras)[:8_000]))
            lines = src.splitlines()
            if len(lines) > 40:
                start = rng.randrange(0, len(lines) - 40)
                docs.append((f"{name}/{os.path.relpath(rs, d)}#code", "crate_code", lic,
                             "\n".join(lines[start:start + 45])))
    return docs


SKIP_PY_DIRS = {"test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__"}


def python_docstrings(subpackages=False):
    """Docstrings of the standard library: its top-level modules, or (subpackages=True)
    the modules inside its packages (email/, asyncio/, ...), tests left out."""
    libdir = sysconfig.get_paths()["stdlib"]
    docs = []
    if subpackages:
        files = [f for f in glob.glob(os.path.join(libdir, "*", "**", "*.py"), recursive=True)
                 if not SKIP_PY_DIRS & set(os.path.relpath(f, libdir).split(os.sep)[:-1])]
    else:
        files = glob.glob(os.path.join(libdir, "*.py"))
    for py in sorted(files):
        src = read(py, 2_000_000)
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        parts = []
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef)):
                ds = ast.get_docstring(node)
                if ds and len(ds) > 120:
                    head = "" if isinstance(node, ast.Module) else f"{node.name}:\n"
                    parts.append(head + ds)
        if parts:
            docs.append((f"python-stdlib/{os.path.relpath(py, libdir)}", "py_doc", "PSF-2.0",
                         "\n\n".join(parts)[:10_000]))
    return docs


# ---------------------------------------------------------------- synthetic text
WORDS = ("parse config cache request handler buffer token stream index record client server "
         "session window encoder decoder layer batch queue worker scheduler retry timeout "
         "payload header metric user account order invoice report build test module").split()
ERRORS = ["connection refused", "permission denied", "no such file or directory",
          "timed out after 30s", "invalid UTF-8 sequence", "unexpected end of input",
          "index out of bounds", "key not found", "out of memory", "checksum mismatch"]


def ident(rng):
    a, b = rng.sample(WORDS, 2)
    return rng.choice([f"{a}_{b}", f"{a}{b.capitalize()}", f"{a.capitalize()}{b.capitalize()}", a])


def path(rng, ext=None):
    ext = ext or rng.choice(["rs", "py", "ts", "go", "json", "toml"])
    return "/".join(rng.sample(["src", "lib", "core", "api", "util", "tests", "cmd"], rng.randint(1, 3))) \
        + f"/{ident(rng).lower()}.{ext}"


def gen_build_log(rng, idents):
    out = []
    kind = rng.choice(["cargo", "pytest", "npm", "make"])
    if kind == "cargo":
        for _ in range(rng.randint(4, 15)):
            out.append(f"   Compiling {rng.choice(idents)} v{rng.randint(0, 3)}.{rng.randint(0, 40)}.{rng.randint(0, 9)}")
        for _ in range(rng.randint(1, 3)):
            p = path(rng, "rs")
            ln = rng.randint(1, 900)
            lvl = rng.choice(["warning", "error"])
            code = f"[E0{rng.randint(100, 799)}]" if lvl == "error" else ""
            msg = rng.choice([f"unused variable: `{ident(rng)}`", f"mismatched types",
                              f"cannot find value `{ident(rng)}` in this scope",
                              f"borrow of moved value: `{ident(rng)}`"])
            out += [f"{lvl}{code}: {msg}", f"  --> {p}:{ln}:{rng.randint(1, 60)}", "   |",
                    f"{ln:>3} |     let {ident(rng)} = {ident(rng)}(&{ident(rng)});",
                    "   |         ^^^^^^^^", ""]
        ok = rng.random() < 0.5
        out.append("    Finished `dev` profile [unoptimized + debuginfo] target(s) in "
                   f"{rng.uniform(0.5, 90):.2f}s" if ok else
                   f"error: could not compile `{rng.choice(idents)}` (lib) due to {rng.randint(1, 9)} previous errors")
    elif kind == "pytest":
        n = rng.randint(5, 40)
        out.append(f"============================= test session starts ==============================")
        out.append(f"platform linux -- Python 3.11.7, pytest-8.{rng.randint(0, 3)}.{rng.randint(0, 5)}")
        out.append(f"collected {n} items")
        out.append("")
        failed = []
        for _ in range(rng.randint(2, 5)):
            f = f"tests/test_{ident(rng).lower()}.py"
            res = "".join(rng.choice("....F.s") for _ in range(rng.randint(3, 20)))
            out.append(f"{f} {res} [{rng.randint(5, 100):>3}%]")
            if "F" in res:
                failed.append(f)
        for f in failed:
            t = f"test_{ident(rng).lower()}"
            out += ["", f"____ {t} ____", "", f"    def {t}():",
                    f">       assert {ident(rng)}({rng.randint(0, 99)}) == {rng.randint(0, 99)}",
                    f"E       AssertionError: assert {rng.randint(0, 99)} == {rng.randint(0, 99)}",
                    f"{f}:{rng.randint(5, 300)}: AssertionError"]
        out.append(f"=========== {len(failed)} failed, {n - len(failed)} passed in {rng.uniform(0.1, 30):.2f}s ===========")
    elif kind == "npm":
        out.append(f"> {rng.choice(idents)}@{rng.randint(0, 5)}.{rng.randint(0, 20)}.0 build")
        out.append(f"> tsc -p tsconfig.json && node scripts/{ident(rng).lower()}.js")
        for _ in range(rng.randint(1, 6)):
            out.append(f"{path(rng, 'ts')}({rng.randint(1, 400)},{rng.randint(1, 80)}): error TS{rng.randint(2000, 2800)}: "
                       f"Property '{ident(rng)}' does not exist on type '{ident(rng).capitalize()}'.")
        out.append(f"npm ERR! code ELIFECYCLE\nnpm ERR! errno {rng.randint(1, 2)}")
        out.append(f"added {rng.randint(1, 900)} packages, and audited {rng.randint(900, 1500)} packages in {rng.randint(1, 60)}s")
        out.append(f"{rng.randint(0, 12)} vulnerabilities ({rng.randint(0, 5)} moderate, {rng.randint(0, 3)} high)")
    else:
        for _ in range(rng.randint(5, 15)):
            src = path(rng, "c")
            out.append(f"gcc -O2 -Wall -Iinclude -c {src} -o {src[:-2]}.o")
        if rng.random() < 0.6:
            src = path(rng, "c")
            out.append(f"{src}:{rng.randint(1, 500)}:{rng.randint(1, 40)}: error: '{ident(rng)}' undeclared (first use in this function)")
            out.append(f"make: *** [Makefile:{rng.randint(10, 90)}: {src[:-2]}.o] Error 1")
        else:
            out.append(f"ar rcs lib{rng.choice(WORDS)}.a *.o\nmake: Leaving directory '/build/{rng.choice(WORDS)}'")
    return "\n".join(out)


def gen_grep(rng, sources):
    name, lic, src = rng.choice(sources)
    lines = src.splitlines()
    words = [w for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]{3,}", src)]
    if not words or not lines:
        return None, None
    pat = rng.choice(words)
    hits = [(i + 1, l) for i, l in enumerate(lines) if pat in l][:25]
    fname = rng.choice(["src/lib.rs", "src/main.rs", f"src/{pat.lower()[:12]}.rs", path(rng, "rs")])
    out = [f"$ rg -n {pat}"]
    out += [f"{fname}:{i}:{l}" for i, l in hits]
    return "\n".join(out), lic


def gen_json(rng, idents):
    def rec():
        return {"id": rng.randint(1, 10**6), "name": ident(rng), "status": rng.choice(["ok", "failed", "pending", "error"]),
                "created_at": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z",
                "tags": rng.sample(WORDS, rng.randint(0, 3)), "score": round(rng.uniform(0, 1), 3),
                "owner": {"login": rng.choice(idents), "type": rng.choice(["User", "Organization"])},
                "message": rng.choice(ERRORS + ["ready", "completed successfully", "queued for retry"])}
    body = {"total_count": rng.randint(1, 500), "page": rng.randint(1, 9), "items": [rec() for _ in range(rng.randint(1, 5))]}
    return json.dumps(body, indent=rng.choice([None, 2]))


def gen_diff(rng, sources):
    name, lic, src = rng.choice(sources)
    lines = src.splitlines()
    if len(lines) < 20:
        return None, None
    start = rng.randrange(0, max(1, len(lines) - 30))
    a = lines[start:start + 30]
    b = list(a)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(b))
        op = rng.random()
        if op < 0.4:
            b[i] = b[i].replace(" ", "  ", 1) if rng.random() < 0.3 else re.sub(r"[A-Za-z_]\w+", ident(rng), b[i], count=1)
        elif op < 0.7:
            b.insert(i, " " * 4 + f"// TODO: handle {rng.choice(ERRORS)}")
        else:
            del b[i]
    fn = name.split("/", 1)[-1].split("#")[0]
    d = difflib.unified_diff(a, b, f"a/{fn}", f"b/{fn}", lineterm="", n=2)
    return f"diff --git a/{fn} b/{fn}\n" + "\n".join(d), lic


def gen_trace(rng, idents):
    if rng.random() < 0.5:
        out = ["Traceback (most recent call last):"]
        for _ in range(rng.randint(2, 6)):
            out.append(f'  File "/app/{path(rng, "py")}", line {rng.randint(1, 800)}, in {ident(rng).lower()}')
            out.append(f"    {ident(rng).lower()} = {ident(rng)}({ident(rng).lower()}, timeout={rng.randint(1, 60)})")
        out.append(f"{rng.choice(['ValueError', 'KeyError', 'ConnectionError', 'RuntimeError', 'FileNotFoundError'])}: {rng.choice(ERRORS)}")
    else:
        out = [f"thread 'main' panicked at {path(rng, 'rs')}:{rng.randint(1, 900)}:{rng.randint(1, 60)}:",
               f"called `Result::unwrap()` on an `Err` value: {ident(rng).capitalize()}(\"{rng.choice(ERRORS)}\")",
               "stack backtrace:"]
        for i in range(rng.randint(3, 10)):
            out.append(f"  {i:>2}: {rng.choice(idents)}::{ident(rng).lower()}::{ident(rng).lower()}")
            out.append(f"             at ./{path(rng, 'rs')}:{rng.randint(1, 900)}:{rng.randint(1, 40)}")
        out.append("note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.")
    return "\n".join(out)


def gen_shell(rng, idents):
    out = []
    for _ in range(rng.randint(2, 4)):
        c = rng.choice(["ls", "git log", "git status", "df", "ps"])
        if c == "ls":
            out.append("$ ls -la")
            for _ in range(rng.randint(3, 10)):
                out.append(f"-rw-r--r-- 1 dev dev {rng.randint(10, 10**6):>8} Nov {rng.randint(1, 30):>2} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d} {ident(rng).lower()}.{rng.choice(['rs', 'md', 'json', 'lock'])}")
        elif c == "git log":
            out.append("$ git log --oneline -5")
            for _ in range(5):
                out.append(f"{rng.getrandbits(28):07x} {rng.choice(['Fix', 'Add', 'Refactor', 'Remove', 'Update'])} {ident(rng)} in {rng.choice(idents)}")
        elif c == "git status":
            out += ["$ git status", "On branch main", "Changes not staged for commit:"]
            for _ in range(rng.randint(1, 5)):
                out.append(f"\tmodified:   {path(rng)}")
            out.append("no changes added to commit (use \"git add\" and/or \"git commit -a\")")
        elif c == "df":
            out += ["$ df -h", "Filesystem      Size  Used Avail Use% Mounted on",
                    f"/dev/vda        252G  {rng.randint(1, 250)}G   {rng.randint(1, 200)}G  {rng.randint(1, 99)}% /"]
        else:
            out.append("$ ps aux | head")
            for _ in range(rng.randint(2, 6)):
                out.append(f"root {rng.randint(1, 99999):>7} {rng.uniform(0, 99):4.1f} {rng.uniform(0, 20):4.1f} {rng.randint(1000, 10**6):>8} ? S {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d} {rng.choice(idents)} --{rng.choice(WORDS)}")
    return "\n".join(out)


def gen_chat(rng, paragraphs):
    name, lic, para = rng.choice(paragraphs)
    q = rng.choice(["Can you explain how this works?", "What does this crate do, and how do I use it?",
                    "I keep getting an error when I call this. Any idea why?",
                    "Summarise the following for me.", "Is this the right approach for my use case?"])
    a = rng.choice(["Sure. In short:", "Here is what the documentation says:",
                    "The relevant part is below.", "Good question. The key point is this:"])
    return f"User: {q}\n\nAssistant: {a}\n\n{para}\n\nUser: Thanks, that helps. " \
           f"One more thing: does it work with {rng.choice(['async code', 'no_std', 'wasm', 'Windows'])}?", lic


def synthetic(rng, crate_docs_list, n):
    code = [(n_, l, t) for (n_, s, l, t) in crate_docs_list if s == "crate_code"]
    paras = [(n_, l, p) for (n_, s, l, t) in crate_docs_list if s in ("crate_md", "crate_doc")
             for p in t.split("\n\n") if 200 < len(p) < 900]
    idents = sorted({n_.split("/")[0].rsplit("-", 1)[0] for (n_, s, l, t) in crate_docs_list})
    docs = []
    own = "project-generated"
    for i in range(n):
        k = i % 7
        lic = own
        if k == 0:
            t = gen_build_log(rng, idents)
        elif k == 1:
            t, lic = gen_grep(rng, code)
        elif k == 2:
            t = gen_json(rng, idents)
        elif k == 3:
            t, lic = gen_diff(rng, code)
        elif k == 4:
            t = gen_trace(rng, idents)
        elif k == 5:
            t = gen_shell(rng, idents)
        else:
            t, lic = gen_chat(rng, paras)
        if t:
            kind = ["build_log", "grep", "json", "diff", "trace", "shell", "chat"][k]
            docs.append((f"synthetic/{kind}/{i}", f"synthetic_{kind}",
                         own if lic == own else f"{own}; embedded excerpt: {lic}", t))
    return docs


def read_list(path):
    """Non-empty, non-comment lines of a list file (crates.txt)."""
    return {l.strip() for l in open(path) if l.strip() and not l.startswith("#")}


def text_key(chunk):
    return hashlib.sha256(chunk["text"].encode()).hexdigest()


def unique_chunks(chunks, seen):
    """Chunks whose text is not in `seen` (text hashes) and not repeated; updates `seen`.
    Crates share license files and boilerplate."""
    out = []
    for c in chunks:
        key = text_key(c)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out


def write_jsonl(path, chunks):
    with open(path, "w", encoding="utf-8") as f:
        for c in chunks:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")


def by_source(chunks):
    """{source: {"chunks": n, "chars": n}}, sorted by source."""
    stats = {}
    for c in chunks:
        s = stats.setdefault(c["source"], [0, 0])
        s[0] += 1
        s[1] += len(c["text"])
    return {k: {"chunks": v[0], "chars": v[1]} for k, v in sorted(stats.items())}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--synthetic-docs", type=int, default=1400)
    ap.add_argument("--heldout-frac", type=float, default=0.05)
    ap.add_argument("--crates", help="file with the crate folder names to use, one a line")
    ap.add_argument("--extend", metavar="CRATES2",
                    help="instead: write corpus_ext.jsonl, training-only chunks from the crate folders "
                         "listed in CRATES2 and the standard library's subpackages, next to an "
                         "existing corpus.jsonl (which, and so its held-out split, stays as it is)")
    args = ap.parse_args()
    if args.extend:
        return extend(args.out_dir, args.extend)
    rng = random.Random(SEED)
    only, fetched = None, None  # without a list: whatever the cargo cache holds
    if args.crates:
        only, fetched = read_list(args.crates), os.path.join(args.out_dir, "crates")
        fetch_crates(only, fetched)
    docs = crate_docs(rng, only, fetched) + python_docstrings()
    docs += synthetic(rng, docs, args.synthetic_docs)
    chunks = []
    for doc_id, source, lic, text in docs:
        h = int(hashlib.sha256(doc_id.encode()).hexdigest()[:8], 16) / 2**32
        split = "heldout" if h < args.heldout_frac else "train"
        for j, c in enumerate(chunk_text(text)):
            chunks.append({"id": f"{doc_id}@{j}", "source": source, "license": lic, "split": split, "text": c})
    uniq = unique_chunks(chunks, set())
    rng.shuffle(uniq)
    # Held-out chunks first so the first label shards always cover evaluation.
    uniq.sort(key=lambda c: c["split"] != "heldout")
    os.makedirs(args.out_dir, exist_ok=True)
    write_jsonl(os.path.join(args.out_dir, "corpus.jsonl"), uniq)
    lic = {}
    for c in uniq:
        lic[c["license"]] = lic.get(c["license"], 0) + 1
    summary = {"chunks": len(uniq), "heldout": sum(c["split"] == "heldout" for c in uniq),
               "by_source": by_source(uniq),
               "by_license": dict(sorted(lic.items(), key=lambda kv: -kv[1]))}
    with open(os.path.join(args.out_dir, "corpus_stats.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(json.dumps(summary, indent=1))


def extend(out_dir, crates_file):
    """More training text without touching corpus.jsonl: label shards and the held-out
    chunks of the base corpus keep their meaning, so models stay comparable."""
    base = [json.loads(l) for l in open(os.path.join(out_dir, "corpus.jsonl"), encoding="utf-8")]
    seen = {text_key(c) for c in base}
    base_crates = {c["id"].split("/")[0] for c in base if c["source"].startswith("crate_")}
    crate_name = lambda folder: (split_folder(folder) or (folder,))[0]
    base_names = {crate_name(f) for f in base_crates}
    only = read_list(crates_file)
    clash = sorted(f for f in only if crate_name(f) in base_names)
    if clash:
        # Another version of a base crate can share READMEs with held-out chunks.
        sys.exit(f"{crates_file}: crates already in the base corpus (any version): {clash[:5]}")
    fetched = os.path.join(out_dir, "crates")
    fetch_crates(only, fetched)
    rng = random.Random(SEED + 1)
    docs = crate_docs(rng, only, fetched) + python_docstrings(subpackages=True)
    chunks = [{"id": f"{doc_id}@{j}", "source": source, "license": lic, "split": "train", "text": c}
              for doc_id, source, lic, text in docs for j, c in enumerate(chunk_text(text))]
    uniq = unique_chunks(chunks, seen)
    rng.shuffle(uniq)
    write_jsonl(os.path.join(out_dir, "corpus_ext.jsonl"), uniq)
    summary = {"chunks": len(uniq), "by_source": by_source(uniq)}
    with open(os.path.join(out_dir, "corpus_ext_stats.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    sys.exit(main())
