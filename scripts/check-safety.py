#!/usr/bin/env python3
"""Lists every function in a source tree whose body uses unsafe memory (raw pointers, column
base pointers, allocation, unsafe casts) without a `// SAFETY:` line stating the bound it relies
on, in the body or just above the declaration; exits 1 when any is found. CI runs it on Sources/.

Usage: scripts/check-safety.py Sources
"""
import glob
import re
import sys

UNSAFE_USE = re.compile(
    r"withUnsafe|Unsafe(Mutable)?(Raw)?(Buffer)?Pointer\(|\.base\b|\.allocate\(|unsafeBitCast"
    r"|_withUnsafeGuaranteedRef|\.advanced\(by|\.initialize\(|\.update\((?:repeating|from)"
    r"|\.deallocate\("
)
DECLARATION = re.compile(
    r"\s*(?:@\S+\s+)*(?:(?:public|private|fileprivate|internal|package|static|final|override"
    r"|mutating|nonisolated|@inlinable|@inline\(__always\)|@usableFromInline|@discardableResult)\s+)*"
    r"(func|init|deinit|subscript)\b"
)


def body_of(lines, start):
    """The declaration's lines from `start` to its closing brace (by brace depth)."""
    depth, opened, body = 0, False, []
    for line in lines[start:]:
        for ch in line:
            if ch == "{":
                depth, opened = depth + 1, True
            elif ch == "}":
                depth -= 1
        body.append(line)
        if opened and depth <= 0:
            break
    return body


def main(root):
    missing = []
    for path in sorted(glob.glob(root + "/**/*.swift", recursive=True)):
        lines = open(path, encoding="utf-8").read().split("\n")
        for i, line in enumerate(lines):
            if not DECLARATION.match(line):
                continue
            body = body_of(lines, i)
            code = "\n".join(l for l in body if not l.strip().startswith("//"))
            commented = "SAFETY" in "\n".join(body) or "SAFETY" in "\n".join(lines[max(0, i - 3) : i])
            if UNSAFE_USE.search(code) and not commented:
                missing.append(f"{path}:{i + 1}: {line.strip()[:90]}  (unsafe use without a // SAFETY: line)")
    for m in missing:
        print(m)
    print(f"check-safety: {len(missing)} function(s) without a SAFETY line", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "Sources"))
