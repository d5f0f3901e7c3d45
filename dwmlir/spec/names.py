"""Kernel and library names: one check for every place a name enters (CLI, configs, Python API).

A name becomes a C symbol (``void NAME(...)``), a word in a C/C++ header (``NAME.h``, whose
include guard is ``DWMLIR_<NAME>_H``) and the stem of files (``libNAME.a``, ``NAME.o``...).
So it must be a C identifier that compiles in a header included from C and C++, that does
not take a name a C program already links or includes (``memcpy``, ``int32_t``), and that is
short enough for every tool that handles the files (llvm-ar fails at 228 characters).
"""

from __future__ import annotations

import re

from ..errors import UserError

# llvm-ar fails on member names of 228 characters or more; files are also named lib<name>.so,
# <name>.schedule.mlir and .<name>.schedule.mlir.tmp-XXXXXXXX while staged: 200 leaves headroom.
MAX_NAME_LENGTH = 200

_C_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# C23 keywords, including the underscore spellings of C11/C99 and the alternative spellings.
_C_KEYWORDS = frozenset(
    """
    alignas alignof auto bool break case char const constexpr continue default do double else enum
    extern false float for goto if inline int long nullptr register restrict return short signed
    sizeof static static_assert struct switch thread_local true typedef typeof typeof_unqual union
    unsigned void volatile while _Alignas _Alignof _Atomic _BitInt _Bool _Complex _Decimal128
    _Decimal32 _Decimal64 _Generic _Imaginary _Noreturn _Static_assert _Thread_local
    """.split()
)
# C++20 keywords and alternative operator tokens.
_CXX_KEYWORDS = frozenset(
    """
    alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t char16_t
    char32_t class compl concept const consteval constexpr constinit const_cast continue co_await
    co_return co_yield decltype default delete do double dynamic_cast else enum explicit export
    extern false float for friend goto if inline int long mutable namespace new noexcept not not_eq
    nullptr operator or or_eq private protected public register reinterpret_cast requires return
    short signed sizeof static static_assert static_cast struct switch template this thread_local
    throw true try typedef typeid typename union unsigned using virtual void volatile wchar_t while
    xor xor_eq final override import module
    """.split()
)

# Names a C program commonly declares through <string.h>, <stdlib.h>, <stdio.h>, <math.h>,
# <errno.h>, <assert.h>, <stddef.h>, <stdint.h>, or that the C runtime defines: a kernel with
# such a name replaces the library function at link time or breaks the header.
_LIBC_NAMES = frozenset(
    """
    main _start _init _fini environ errno assert offsetof NULL EOF BUFSIZ FILE fpos_t EDOM ERANGE EILSEQ
    size_t ssize_t ptrdiff_t wchar_t wint_t max_align_t nullptr_t off_t va_list bool true false
    memcpy memmove memset memcmp memchr memccpy mempcpy strcpy strncpy strcat strncat strcmp strncmp
    strlen strnlen strchr strrchr strstr strdup strndup strtok strtok_r strerror strcoll strxfrm
    strspn strcspn strpbrk bzero bcopy
    malloc calloc realloc free aligned_alloc posix_memalign memalign valloc reallocarray
    abort exit _exit _Exit atexit at_quick_exit quick_exit getenv setenv unsetenv putenv system
    atoi atol atoll atof strtol strtoll strtoul strtoull strtod strtof strtold abs labs llabs div
    ldiv lldiv rand srand random srandom qsort bsearch
    printf fprintf sprintf snprintf vprintf vfprintf vsprintf vsnprintf dprintf scanf fscanf sscanf
    puts fputs fgets gets putchar fputc putc getchar fgetc getc ungetc fopen fclose fflush fread
    fwrite fseek ftell rewind perror remove rename tmpfile tmpnam setvbuf setbuf stdin stdout stderr
    open close read write lseek unlink mmap munmap fork execve signal raise kill sleep usleep time
    clock longjmp setjmp
    sin cos tan asin acos atan atan2 sinh cosh tanh exp exp2 expm1 log log2 log10 log1p pow sqrt
    cbrt hypot fabs floor ceil round trunc fmod fma fmin fmax frexp ldexp modf nan
    sinf cosf tanf expf logf powf sqrtf fabsf floorf ceilf roundf fmaf fminf fmaxf
    """.split()
)
# <stdint.h>/<inttypes.h> families, matched by pattern (C reserves them for the library).
_RESERVED_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"u?int(_least|_fast)?(8|16|32|64|ptr|max)_t"),
        "a <stdint.h> type",
    ),
    (re.compile(r"U?INT\w*_(MAX|MIN|C|WIDTH)"), "a <stdint.h> macro"),
    (re.compile(r"(PTRDIFF|SIZE|SIG_ATOMIC|WCHAR|WINT)_(MAX|MIN|WIDTH)"), "a <stdint.h> macro"),
    (re.compile(r"PRI[diouxX]\w*|SCN[diouxX]\w*"), "an <inttypes.h> macro"),
    (
        re.compile(r"printMemref\w*|print[FI](32|64)|printNewline|setArmS?VLBits|_mlir_\w*"),
        "a function of the MLIR runner's runtime",
    ),
)


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot be a kernel or library name, or None if it can."""
    if not isinstance(name, str):
        return f"must be a string, not {type(name).__name__}"
    if name == "":
        return "is empty: give a C identifier such as dwconv"
    if not _C_IDENT.fullmatch(name):
        return "is not a C identifier: use letters, digits and '_', not starting with a digit"
    if len(name) > MAX_NAME_LENGTH:
        return (
            f"is {len(name)} characters long, more than the supported {MAX_NAME_LENGTH} "
            "(archive tools break on longer file names)"
        )
    if name in _C_KEYWORDS or name in _CXX_KEYWORDS:
        lang = "C" if name in _C_KEYWORDS else "C++"
        return f"is a {lang} keyword"
    if name == "_":
        return "is a lone '_', reserved in C++"
    if re.match(r"_[A-Z_]", name):
        return "is a reserved identifier (starts with '_' and an uppercase letter or '__')"
    if "__" in name:
        return "is a reserved identifier in C++ (contains '__')"
    if name.startswith("_"):
        return "is reserved at file scope in C (starts with '_')"
    if name in _LIBC_NAMES:
        return "is a name of the C standard library or runtime; linking it would replace theirs"
    if name.upper().startswith("DWMLIR_"):
        return "starts with DWMLIR_ (any case), reserved for dwmlir's header guards and generated code"
    for pattern, what in _RESERVED_PATTERNS:
        if pattern.fullmatch(name):
            return f"is {what}"
    return None


def check_name(name: object, what: str = "kernel name") -> str:
    """Return ``name`` if it is usable as a kernel or library name, else raise a one-line UserError."""
    problem = name_problem(name)
    if problem is not None:
        raise UserError(f"{what} {_shown(name)} {problem}; choose another name")
    return name  # type: ignore[return-value]


def _shown(name: object) -> str:
    """The name as one line (a newline inside must not split the error message)."""
    text = repr(name) if isinstance(name, str) else str(name)
    if isinstance(name, str) and not any(c in name for c in "\n\r\t\\'\"") and name.isprintable():
        text = f"'{name}'"
    if len(text) > 60:
        text = text[:57] + "..."
    return text
