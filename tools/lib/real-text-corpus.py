#!/usr/bin/env python3
"""A real-text corpus for tools/bench-search --real: the English prose of the machine's
/usr/share/doc (READMEs, changelogs, copyright texts, plain or gzip'd), cut into ~3 KB
articles at paragraph breaks. Each article: id doc/PACKAGE/FILE/N, title = its first line,
source = the package, tags = the file's kind, published = a date spread over 2020-2026.
Queries (50 of each kind) come from the text itself: mid-frequency words (term, two terms),
word pairs that occur at least 3 times (phrase), prefixes, and a word within one package
(filtered). Usage: real-text-corpus.py MAX_ARTICLES OUT_DIR"""
import gzip, json, os, random, re, sys
from collections import Counter

limit, out = int(sys.argv[1]), sys.argv[2]
os.makedirs(out, exist_ok=True)
random.seed(20261129)
roots = ["/usr/share/doc", "/usr/share/common-licenses"]
files = []
for root in roots:
    for d, _, names in os.walk(root):
        for n in sorted(names):
            p = os.path.join(d, n)
            if os.path.islink(p) or os.path.getsize(p) < 200: continue
            if n.endswith((".html", ".png", ".svg", ".pdf", ".css", ".js", ".jpg")): continue
            files.append(p)
files.sort()
word_re = re.compile(r"[A-Za-z]{3,}")
articles, words, pairs = [], Counter(), Counter()
by_source = {}
for p in files:
    try:
        raw = gzip.open(p).read() if p.endswith(".gz") else open(p, "rb").read()
        text = raw.decode("utf-8")
    except Exception:
        continue
    if "\x00" in text: continue
    rel = os.path.relpath(p, "/usr/share")
    parts = rel.split("/")
    source = parts[1] if parts[0] == "doc" and len(parts) > 2 else "common-licenses"
    kind = re.sub(r"[^a-z]", "", parts[-1].split(".")[0].lower()) or "text"
    chunk, n = "", 0
    def flush(chunk):
        global n
        body = chunk.strip()
        if len(body) < 300: return
        title = next((l.strip() for l in body.splitlines() if l.strip()), "untitled")[:100]
        aid = "doc/" + "/".join(parts[1:])[:300] + f"/{n}"
        n += 1
        day = random.randrange(0, 7 * 365)
        published = f"{2020 + day // 365}-{1 + (day % 365) // 31 % 12:02d}-{1 + day % 28:02d}"
        articles.append({"id": aid, "title": title, "source": source, "url": "", "published": published, "body": body, "tags": [kind]})
        toks = [w.lower() for w in word_re.findall(body)]
        words.update(toks)
        pairs.update(zip(toks, toks[1:]))
        by_source.setdefault(source, Counter()).update(set(toks))
    def pieces(text):
        # Paragraphs; one longer than 6 000 characters (a file without blank lines) is cut
        # at line ends, and a longer line at 3 000 characters, so articles stay article-sized.
        for para in re.split(r"\n\s*\n", text):
            if len(para) <= 6000:
                yield para; continue
            piece = ""
            for line in para.splitlines():
                while len(line) > 3000:
                    yield line[:3000]; line = line[3000:]
                piece += line + "\n"
                if len(piece) >= 3000:
                    yield piece; piece = ""
            if piece: yield piece
    for para in pieces(text):
        chunk += para + "\n\n"
        if len(chunk) >= 3000:
            flush(chunk); chunk = ""
            if len(articles) >= limit: break
    flush(chunk)
    if len(articles) >= limit: break
with open(os.path.join(out, "articles.jsonl"), "w") as f:
    for a in articles: f.write(json.dumps(a, ensure_ascii=False) + "\n")
ranked = [w for w, _ in words.most_common()]
mid = ranked[100:3000] or ranked
common = ranked[30:400] or ranked
phr = [p for p, c in pairs.most_common() if c >= 3 and p[0] != p[1]][200:3000]
sources = [s for s, c in by_source.items() if sum(1 for a in articles if a["source"] == s) >= 5]
q = []
for _ in range(50):
    w = random.choice(mid); q.append(("term", w, w))
for _ in range(50):
    a, b = random.choice(common), random.choice(common); q.append(("two", f"{a} {b}", f"{a} {b}"))
for _ in range(50):
    a, b = random.choice(phr); q.append(("phrase", f'"{a} {b}"', f'"{a} {b}"'))
for _ in range(50):
    # Real vocabularies are wide (changelogs hold identifiers and hashes): prefixes of 5+
    # letters, as a reader would type, stay within the search's prefix-expansion limit.
    w = random.choice([x for x in mid if len(x) >= 7]); p = w[:max(5, len(w) - 2)]; q.append(("prefix", p + "*", p + "*"))
for _ in range(50):
    s = random.choice(sources); w = random.choice([x for x, _ in by_source[s].most_common(50)] or mid)
    q.append(("filtered", f'{w} source:"{s}"', f'{w} AND source:"{s}"'))
with open(os.path.join(out, "queries.tsv"), "w") as f:
    for k, a, b in q: f.write(f"{k}\t{a}\t{b}\n")
print(len(articles), file=sys.stderr)
