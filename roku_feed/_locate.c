/* The native half of roku_feed.positions: where the values named by JSON pointers start.
 *
 * `places(text, pointers, decode_key, to_the_end=False)` reads the document once, in order,
 * going only into the containers on the way to a wanted pointer and passing over everything
 * else byte by byte, and stops once every pointer is found. It gives, for each pointer, the
 * line and column (1-based; columns count code points) where its value starts, or where its
 * deepest ancestor the document has starts when it has not that value; and where its key
 * starts the second time in its object when it appears twice (None otherwise). With
 * `to_the_end` (the document has duplicate keys) it reads on to the end: a key met again
 * overwrites what was found before, so the last occurrence of a key wins, as in the parsed data.
 *
 * Paths are compared as pointers: the scan keeps the pointer of the value it is in, each key
 * escaped as RFC 6901 says ('~' as "~0", '/' as "~1"); a key holding JSON escapes is decoded by
 * `decode_key`, given the key with its quotes, which must return it as the parser read it.
 *
 * Text the scanner cannot read as JSON raises ValueError: the caller has the pure-Python walk
 * for that, and for a pointer that cannot be encoded as UTF-8 (UnicodeEncodeError).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define FNV_START 14695981039346656037ULL
#define FNV_PRIME 1099511628211ULL
/* Containers nested deeper than this along a wanted path: the caller's walk decides. */
#define MAX_DEPTH 2000

typedef struct {
    const char *key; /* the pointer's UTF-8 bytes, borrowed from a pointer str of the call */
    Py_ssize_t len;
    uint64_t hash;
    Py_ssize_t parent; /* the entry of the pointer one segment shorter; -1 for the root */
    int inside;        /* a proper ancestor of a wanted pointer: the scan goes into it */
    int wanted;        /* one of the pointers asked for */
    Py_ssize_t line, column;             /* where its value starts; 0: not met */
    Py_ssize_t again_line, again_column; /* its key's second occurrence; 0: none */
} Entry;

typedef struct {
    const unsigned char *s;
    Py_ssize_t n;
    Entry *table;    /* the wanted pointers and their ancestors, each once */
    Py_ssize_t used;
    uint32_t *slots; /* open addressing over `table`: entry + 1, or 0 for a free slot */
    size_t mask;
    char *path; /* the pointer of the value being read */
    Py_ssize_t cap;
    PyObject *decode_key;
    int ascii;          /* every byte a character: columns are byte counts */
    int to_the_end;     /* read on after every pointer is found: a later duplicate key wins */
    Py_ssize_t pending; /* wanted pointers not found yet */
    /* Line and column of `last`, the latest place recorded: places come in text order. */
    Py_ssize_t last, line, column;
} Scan;

static uint64_t fnv(uint64_t hash, const char *bytes, Py_ssize_t len) {
    for (Py_ssize_t i = 0; i < len; i++) {
        hash ^= (unsigned char)bytes[i];
        hash *= FNV_PRIME;
    }
    return hash;
}

/* The slot of `key`: the one holding it, or the free one where it belongs. */
static size_t slot(const Scan *sc, const char *key, Py_ssize_t len, uint64_t hash) {
    size_t i = (size_t)hash & sc->mask;
    for (; sc->slots[i]; i = (i + 1) & sc->mask) {
        const Entry *e = &sc->table[sc->slots[i] - 1];
        if (e->hash == hash && e->len == len && memcmp(e->key, key, (size_t)len) == 0)
            break;
    }
    return i;
}

static Py_ssize_t find(const Scan *sc, const char *key, Py_ssize_t len, uint64_t hash) {
    return (Py_ssize_t)sc->slots[slot(sc, key, len, hash)] - 1;
}

static Py_ssize_t add(Scan *sc, const char *key, Py_ssize_t len, uint64_t hash, Py_ssize_t parent) {
    size_t i = slot(sc, key, len, hash);
    if (!sc->slots[i]) {
        Entry *e = &sc->table[sc->used];
        e->key = key;
        e->len = len;
        e->hash = hash;
        e->parent = parent;
        sc->slots[i] = (uint32_t)++sc->used;
    }
    return (Py_ssize_t)sc->slots[i] - 1;
}

/* Moves the line and column from `last` to `to` (never before it) and returns them. */
static void advance(Scan *sc, Py_ssize_t to, Py_ssize_t *line, Py_ssize_t *column) {
    const unsigned char *s = sc->s;
    Py_ssize_t from = sc->last;
    const unsigned char *newline;
    if (to < from) /* never: places are recorded in the order of one forward pass */
        to = from;
    while ((newline = memchr(s + from, '\n', (size_t)(to - from))) != NULL) {
        sc->line++;
        sc->column = 0;
        from = newline - s + 1;
    }
    if (sc->ascii) {
        sc->column += to - from;
    } else {
        for (Py_ssize_t i = from; i < to; i++)
            sc->column += (s[i] & 0xC0) != 0x80; /* a code point starts at every byte but 10xxxxxx */
    }
    sc->last = to;
    *line = sc->line;
    *column = sc->column + 1;
}

static Py_ssize_t space(const Scan *sc, Py_ssize_t p) {
    while (p < sc->n) {
        unsigned char c = sc->s[p];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p++;
    }
    return p;
}

static Py_ssize_t unreadable(Py_ssize_t p) {
    PyErr_Format(PyExc_ValueError, "not JSON the scanner can read at byte %zd", p);
    return -1;
}

/* The end of the string starting at `p` (its opening quote): after the first quote that is
 * not escaped, one with an even number of backslashes before it. */
static Py_ssize_t string_end(const Scan *sc, Py_ssize_t p) {
    const unsigned char *s = sc->s, *quote;
    for (p++; (quote = memchr(s + p, '"', (size_t)(sc->n - p))) != NULL; p = quote - s + 1) {
        const unsigned char *before = quote;
        while (before > s + p && before[-1] == '\\')
            before--;
        if ((quote - before) % 2 == 0)
            return quote - s + 1;
    }
    return unreadable(sc->n);
}

/* What can end a number, true, false or null, and what matters when passing over a container. */
static unsigned char ends_scalar[256], in_container[256];

/* The end of the value starting at `p`, read without going into it. */
static Py_ssize_t skip(const Scan *sc, Py_ssize_t p) {
    const unsigned char *s = sc->s;
    if (p >= sc->n)
        return unreadable(p);
    if (s[p] == '"')
        return string_end(sc, p);
    if (s[p] == '{' || s[p] == '[') {
        Py_ssize_t depth = 0;
        while (p < sc->n) {
            unsigned char c = s[p];
            if (!in_container[c]) {
                p++;
            } else if (c == '"') {
                p = string_end(sc, p);
                if (p < 0)
                    return -1;
            } else if (c == '{' || c == '[') {
                depth++;
                p++;
            } else if (--depth == 0) {
                return p + 1;
            } else {
                p++;
            }
        }
        return unreadable(p);
    }
    Py_ssize_t start = p;
    while (p < sc->n && !ends_scalar[s[p]])
        p++;
    return p > start ? p : unreadable(p);
}

static int room(Scan *sc, Py_ssize_t need) {
    if (need <= sc->cap)
        return 0;
    Py_ssize_t cap = need * 2;
    char *path = PyMem_Realloc(sc->path, (size_t)cap);
    if (path == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    sc->path = path;
    sc->cap = cap;
    return 0;
}

/* Appends '/' and a key, escaped as a pointer segment, to the path at `len`; the new length. */
static Py_ssize_t segment(Scan *sc, Py_ssize_t len, const char *key, Py_ssize_t n) {
    if (room(sc, len + 1 + 2 * n) < 0)
        return -1;
    char *out = sc->path + len;
    *out++ = '/';
    for (Py_ssize_t i = 0; i < n; i++) {
        if (key[i] == '~') {
            *out++ = '~';
            *out++ = '0';
        } else if (key[i] == '/') {
            *out++ = '~';
            *out++ = '1';
        } else {
            *out++ = key[i];
        }
    }
    return out - sc->path;
}

/* The path with the key quoted at [start, end) appended, decoding escapes with decode_key. */
static Py_ssize_t escaped_segment(Scan *sc, Py_ssize_t len, Py_ssize_t start, Py_ssize_t end) {
    PyObject *quoted = PyUnicode_DecodeUTF8((const char *)sc->s + start, end - start, "strict");
    if (quoted == NULL)
        return -1;
    PyObject *key = PyObject_CallOneArg(sc->decode_key, quoted);
    Py_DECREF(quoted);
    if (key == NULL)
        return -1;
    if (!PyUnicode_Check(key)) {
        Py_DECREF(key);
        PyErr_SetString(PyExc_TypeError, "decode_key must return a str");
        return -1;
    }
    Py_ssize_t n;
    const char *bytes = PyUnicode_AsUTF8AndSize(key, &n);
    Py_ssize_t grown = bytes == NULL ? -1 : segment(sc, len, bytes, n);
    Py_DECREF(key);
    return grown;
}

/* What value() returns once every wanted pointer is found and the rest need not be read. */
#define FOUND_ALL (-2)

/* Records where the value of `entry` starts; FOUND_ALL when that was the last one wanted. */
static int record(Scan *sc, Py_ssize_t entry, Py_ssize_t p) {
    Entry *e = &sc->table[entry];
    sc->pending -= e->wanted && !e->line;
    advance(sc, p, &e->line, &e->column);
    return sc->pending == 0 && !sc->to_the_end ? FOUND_ALL : 0;
}

/* Reads the value at `p` (its first byte), whose path is sc->path[:len] and table entry
 * `entry` (-1: not wanted); returns its end, -1 on an error, or FOUND_ALL. */
static Py_ssize_t value(Scan *sc, Py_ssize_t p, Py_ssize_t entry, Py_ssize_t len, int depth) {
    const unsigned char *s = sc->s;
    if (p >= sc->n)
        return unreadable(p);
    if (entry >= 0 && record(sc, entry, p) == FOUND_ALL)
        return FOUND_ALL;
    if (entry < 0 || !sc->table[entry].inside || (s[p] != '{' && s[p] != '['))
        return skip(sc, p);
    if (depth >= MAX_DEPTH) {
        PyErr_SetString(PyExc_ValueError, "nested too deeply for the scanner");
        return -1;
    }
    uint64_t hash = sc->table[entry].hash;
    unsigned char close = s[p] == '{' ? '}' : ']';
    p = space(sc, p + 1);
    if (p < sc->n && s[p] == close)
        return p + 1;
    for (Py_ssize_t index = 0;; index++) {
        Py_ssize_t key_start = p, grown;
        if (close == '}') {
            if (p >= sc->n || s[p] != '"')
                return unreadable(p);
            Py_ssize_t key_end = string_end(sc, p);
            if (key_end < 0)
                return -1;
            int escaped = memchr(s + key_start, '\\', (size_t)(key_end - key_start)) != NULL;
            grown = escaped ? escaped_segment(sc, len, key_start, key_end)
                            : segment(sc, len, (const char *)s + key_start + 1, key_end - key_start - 2);
            p = space(sc, key_end);
            if (p >= sc->n || s[p] != ':')
                return unreadable(p);
            p = space(sc, p + 1);
        } else {
            char digits[24];
            int n = snprintf(digits, sizeof digits, "%zd", index);
            grown = segment(sc, len, digits, n);
        }
        if (grown < 0)
            return -1;
        uint64_t child_hash = fnv(hash, sc->path + len, grown - len);
        Py_ssize_t child = find(sc, sc->path, grown, child_hash);
        if (child >= 0 && close == '}' && sc->table[child].line && !sc->table[child].again_line) {
            Entry *e = &sc->table[child];
            advance(sc, key_start, &e->again_line, &e->again_column);
        }
        p = child >= 0 ? value(sc, p, child, grown, depth + 1) : skip(sc, p);
        if (p < 0)
            return p;
        p = space(sc, p);
        if (p < sc->n && s[p] == close)
            return p + 1;
        if (p >= sc->n || s[p] != ',')
            return unreadable(p);
        p = space(sc, p + 1);
    }
}

static PyObject *place(Py_ssize_t line, Py_ssize_t column) {
    return Py_BuildValue("(nn)", line, column);
}

static PyObject *places(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *text, *pointers, *decode_key, *result = NULL;
    int to_the_end = 0;
    if (!PyArg_ParseTuple(args, "UOO|p:places", &text, &pointers, &decode_key, &to_the_end))
        return NULL;
    PyObject *seq = PySequence_Fast(pointers, "pointers must be a sequence of str");
    if (seq == NULL)
        return NULL;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    Scan sc = {.decode_key = decode_key, .line = 1, .to_the_end = to_the_end};
    Py_ssize_t *wanted = PyMem_Calloc((size_t)count + 1, sizeof(Py_ssize_t));
    const char *s = PyUnicode_AsUTF8AndSize(text, &sc.n);
    if (wanted == NULL || s == NULL)
        goto done;
    sc.s = (const unsigned char *)s;
    sc.ascii = PyUnicode_IS_ASCII(text);
    size_t entries = 1; /* at most one entry per segment of each pointer, and the root */
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_ssize_t n;
        const char *pointer = PyUnicode_Check(items[i]) ? PyUnicode_AsUTF8AndSize(items[i], &n) : NULL;
        if (pointer == NULL) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_TypeError, "pointers must be str");
            goto done;
        }
        entries++;
        for (const char *slash = pointer; (slash = memchr(slash, '/', (size_t)(pointer + n - slash))) != NULL; slash++)
            entries++;
    }
    if (entries >= UINT32_MAX / 2) {
        PyErr_SetString(PyExc_ValueError, "too many pointers for the scanner");
        goto done;
    }
    size_t size = 16;
    while (size < 2 * entries)
        size *= 2;
    sc.table = PyMem_Calloc(entries, sizeof(Entry));
    sc.slots = PyMem_Calloc(size, sizeof(uint32_t));
    if (sc.table == NULL || sc.slots == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    sc.mask = size - 1;
    Py_ssize_t root = add(&sc, "", 0, FNV_START, -1);
    for (Py_ssize_t i = 0; i < count; i++) {
        Py_ssize_t n;
        const char *pointer = PyUnicode_AsUTF8AndSize(items[i], &n); /* cached by the first loop */
        Py_ssize_t at = root, cut = 0;
        uint64_t hash = FNV_START;
        for (Py_ssize_t j = 1; j <= n; j++) {  /* each prefix that ends before a '/', and the whole */
            if (j < n && pointer[j] != '/')
                continue;
            hash = fnv(hash, pointer + cut, j - cut);
            sc.table[at].inside = 1;
            at = add(&sc, pointer, j, hash, at);
            cut = j;
        }
        wanted[i] = at;
        sc.pending += !sc.table[at].wanted;
        sc.table[at].wanted = 1;
    }
    if (value(&sc, space(&sc, 0), root, 0, 0) == -1)
        goto done;
    PyObject *at = PyList_New(count), *again = PyList_New(count);
    if (at == NULL || again == NULL) {
        Py_XDECREF(at);
        Py_XDECREF(again);
        goto done;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        const Entry *own = &sc.table[wanted[i]], *e = own;
        while (!e->line)  /* the root is always met */
            e = &sc.table[e->parent];
        PyObject *here = place(e->line, e->column);
        PyObject *twice = own->again_line ? place(own->again_line, own->again_column) : Py_NewRef(Py_None);
        if (here == NULL || twice == NULL) {
            Py_XDECREF(here);
            Py_XDECREF(twice);
            Py_DECREF(at);
            Py_DECREF(again);
            goto done;
        }
        PyList_SET_ITEM(at, i, here);
        PyList_SET_ITEM(again, i, twice);
    }
    result = Py_BuildValue("(NN)", at, again);
done:
    PyMem_Free(sc.table);
    PyMem_Free(sc.slots);
    PyMem_Free(sc.path);
    PyMem_Free(wanted);
    Py_DECREF(seq);
    return result;
}

/* Each tuple of `rows` with its last two items replaced by the two of the same index in
 * `places`, as a tuple of its own type (a named tuple stays one). */
static PyObject *with_places(PyObject *Py_UNUSED(module), PyObject *args) {
    PyObject *rows, *places, *result = NULL;
    if (!PyArg_ParseTuple(args, "OO:with_places", &rows, &places))
        return NULL;
    PyObject *rows_seq = PySequence_Fast(rows, "rows must be a sequence of tuples");
    PyObject *places_seq = rows_seq ? PySequence_Fast(places, "places must be a sequence of pairs") : NULL;
    if (places_seq == NULL)
        goto done;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(rows_seq);
    if (PySequence_Fast_GET_SIZE(places_seq) != count) {
        PyErr_SetString(PyExc_ValueError, "rows and places differ in length");
        goto done;
    }
    result = PyList_New(count);
    for (Py_ssize_t i = 0; result != NULL && i < count; i++) {
        PyObject *row = PySequence_Fast_GET_ITEM(rows_seq, i), *place = PySequence_Fast_GET_ITEM(places_seq, i);
        Py_ssize_t n = PyTuple_Check(row) ? PyTuple_GET_SIZE(row) : 0;
        if (n < 2 || !PyTuple_Check(place) || PyTuple_GET_SIZE(place) != 2) {
            PyErr_SetString(PyExc_TypeError, "each row must be a tuple of 2 or more items, each place a pair");
            Py_CLEAR(result);
            break;
        }
        PyTypeObject *type = Py_TYPE(row);
        PyObject *made = PyTuple_CheckExact(row) ? PyTuple_New(n) : type->tp_alloc(type, n);
        if (made == NULL) {
            Py_CLEAR(result);
            break;
        }
        for (Py_ssize_t j = 0; j < n; j++) {
            PyObject *item = j < n - 2 ? PyTuple_GET_ITEM(row, j) : PyTuple_GET_ITEM(place, j - (n - 2));
            PyTuple_SET_ITEM(made, j, Py_NewRef(item));
        }
        PyList_SET_ITEM(result, i, made);
    }
done:
    Py_XDECREF(rows_seq);
    Py_XDECREF(places_seq);
    return result;
}

static PyMethodDef methods[] = {
    {"places", places, METH_VARARGS,
     "places(text, pointers, decode_key, to_the_end=False) -> (places, again): for each JSON "
     "pointer, the (line, column) where its value starts (or its deepest ancestor the text has), "
     "and where its key starts the second time in its object, or None."},
    {"with_places", with_places, METH_VARARGS,
     "with_places(rows, places) -> list: each tuple of rows with its last two items replaced by "
     "the pair of the same index in places, as a tuple of its own type."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "roku_feed._locate",
    "Where the values named by JSON pointers start in a JSON text (see roku_feed.positions).", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__locate(void) {
    for (const char *c = " \t\n\r,]}:\"[{"; *c; c++)
        ends_scalar[(unsigned char)*c] = 1;
    ends_scalar[0] = 1;
    for (const char *c = "\"{[]}"; *c; c++)
        in_container[(unsigned char)*c] = 1;
    return PyModule_Create(&module);
}
