// notes: a small JSON API that keeps its state in objects. A service has no
// state of its own (every request is a fresh sandbox), so the notes live
// in a bucket: the prefix is mounted read-only under /in and the same
// prefix receives what a request writes to /out.
//
//	insitu svc create notes --app notes --public \
//	    --in s3://state/notes/ --out s3://state/notes/
//
//	GET    /svc/notes/      the notes as a JSON array, by id:
//	                        [{"id":"a","size":17},...]
//	GET    /svc/notes/ID    the note ID (the JSON it was stored with)
//	PUT    /svc/notes/ID    store the request body (a JSON value, at most
//	                        64 KiB) as note ID: 201 when new, 200 when
//	                        replaced; it becomes the object PREFIX/ID.json
//	DELETE /svc/notes/ID    405: a service can add or replace objects
//	                        through /out, never delete them
//
// An ID is 1 to 64 of A-Z a-z 0-9 - _. Errors are JSON too:
// {"error":"..."} with the status in a CGI Status: header.
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_NOTE (64 * 1024)
#define MAX_ID 64

// ---- Responses ----

static void header(const char *status, const char *extra) {
	if (status)
		printf("Status: %s\r\n", status);
	if (extra)
		fputs(extra, stdout);
	fputs("Content-Type: application/json\r\n\r\n", stdout);
}

// fail writes an error response; msg must not need JSON escaping.
static int fail(const char *status, const char *extra, const char *msg) {
	header(status, extra);
	printf("{\"error\":\"%s\"}\n", msg);
	return fflush(stdout) ? 1 : 0;
}

// ---- IDs ----

static int valid_id(const char *s, size_t n) {
	if (n == 0 || n > MAX_ID)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

// ---- A JSON validator (RFC 8259, nesting up to 64) ----

typedef struct {
	const char *p, *end;
	int depth;
} parser;

static void ws(parser *j) {
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int lit(parser *j, const char *word) {
	size_t n = strlen(word);
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
		return 0;
	j->p += n;
	return 1;
}

static int digits(parser *j) {
	const char *start = j->p;
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > start;
}

static int number(parser *j) {
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (!digits(j))
		return 0;
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (!digits(j))
			return 0;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (!digits(j))
			return 0;
	}
	return 1;
}

static int hex4(parser *j) {
	for (int i = 0; i < 4; i++, j->p++) {
		if (j->p >= j->end)
			return 0;
		char c = *j->p;
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return 0;
	}
	return 1;
}

static int string(parser *j) {
	j->p++; // the opening quote
	while (j->p < j->end) {
		unsigned char c = (unsigned char)*j->p++;
		if (c == '"')
			return 1;
		if (c < 0x20)
			return 0;
		if (c == '\\') {
			if (j->p >= j->end)
				return 0;
			char e = *j->p++;
			if (e == 'u') {
				if (!hex4(j))
					return 0;
			} else if (!strchr("\"\\/bfnrt", e) || e == 0) {
				return 0;
			}
		}
	}
	return 0;
}

static int value(parser *j);

static int members(parser *j, char close, int keyed) {
	j->p++; // [ or {
	if (++j->depth > 64)
		return 0;
	ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		j->depth--;
		return 1;
	}
	for (;;) {
		ws(j);
		if (keyed) {
			if (j->p >= j->end || *j->p != '"' || !string(j))
				return 0;
			ws(j);
			if (j->p >= j->end || *j->p++ != ':')
				return 0;
		}
		if (!value(j))
			return 0;
		ws(j);
		if (j->p >= j->end)
			return 0;
		char c = *j->p++;
		if (c == close) {
			j->depth--;
			return 1;
		}
		if (c != ',')
			return 0;
	}
}

static int value(parser *j) {
	ws(j);
	if (j->p >= j->end)
		return 0;
	switch (*j->p) {
	case '{':
		return members(j, '}', 1);
	case '[':
		return members(j, ']', 0);
	case '"':
		return string(j);
	case 't':
		return lit(j, "true");
	case 'f':
		return lit(j, "false");
	case 'n':
		return lit(j, "null");
	default:
		return number(j);
	}
}

static int valid_json(const char *s, size_t n) {
	parser j = {s, s + n, 0};
	if (!value(&j))
		return 0;
	ws(&j);
	return j.p == j.end;
}

// ---- The routes ----

static int byname(const void *a, const void *b) {
	return strcmp(*(char *const *)a, *(char *const *)b);
}

// list answers GET /: every ID.json under /in, sorted by id.
static int list(void) {
	char **ids = NULL;
	size_t n = 0, cap = 0;
	DIR *d = opendir("/in");
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			size_t len = strlen(e->d_name);
			if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0 || !valid_id(e->d_name, len - 5))
				continue;
			if (n == cap) {
				cap = cap ? 2 * cap : 32;
				char **grown = realloc(ids, cap * sizeof *ids);
				if (!grown)
					return fail("500 Internal Server Error", NULL, "out of memory");
				ids = grown;
			}
			if (!(ids[n] = strdup(e->d_name)))
				return fail("500 Internal Server Error", NULL, "out of memory");
			n++;
		}
		closedir(d);
	} else if (errno != ENOENT) {
		return fail("500 Internal Server Error", NULL, "cannot read the notes");
	}
	if (n > 1)
		qsort(ids, n, sizeof *ids, byname);
	header(NULL, NULL);
	putchar('[');
	size_t shown = 0;
	for (size_t i = 0; i < n; i++) {
		char path[sizeof "/in/" + MAX_ID + sizeof ".json"];
		snprintf(path, sizeof path, "/in/%s", ids[i]);
		struct stat st;
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		ids[i][strlen(ids[i]) - 5] = 0; // drop ".json"
		printf("%s{\"id\":\"%s\",\"size\":%lld}", shown++ ? "," : "", ids[i], (long long)st.st_size);
	}
	puts("]");
	return fflush(stdout) ? 1 : 0;
}

// get answers GET /ID with the stored note.
static int get(const char *id) {
	char path[sizeof "/in/" + MAX_ID + sizeof ".json"];
	snprintf(path, sizeof path, "/in/%s.json", id);
	FILE *f = fopen(path, "rb");
	if (!f)
		return errno == ENOENT ? fail("404 Not Found", NULL, "no such note")
		                       : fail("500 Internal Server Error", NULL, "cannot read the note");
	header(NULL, NULL);
	static char buf[64 * 1024];
	size_t r;
	while ((r = fread(buf, 1, sizeof buf, f)) > 0)
		if (fwrite(buf, 1, r, stdout) != r)
			return 1;
	int bad = ferror(f);
	fclose(f);
	// A read error after the header is out: exit non-zero, and insitu cuts
	// the response off rather than pass it as whole.
	return bad || fflush(stdout) ? 1 : 0;
}

// put answers PUT /ID: the body, if it is JSON, becomes /out/ID.json.
static int put(const char *id) {
	static char body[MAX_NOTE + 1];
	size_t n = 0, r;
	while (n <= MAX_NOTE && (r = fread(body + n, 1, sizeof body - n, stdin)) > 0)
		n += r;
	if (ferror(stdin))
		return fail("400 Bad Request", NULL, "reading the request body failed");
	if (n > MAX_NOTE)
		return fail("413 Content Too Large", NULL, "a note is at most 65536 bytes");
	if (!valid_json(body, n))
		return fail("400 Bad Request", NULL, "the body is not a JSON value");

	char in[sizeof "/in/" + MAX_ID + sizeof ".json"], out[sizeof "/out/" + MAX_ID + sizeof ".json"];
	snprintf(in, sizeof in, "/in/%s.json", id);
	snprintf(out, sizeof out, "/out/%s.json", id);
	struct stat st;
	int existed = stat(in, &st) == 0;
	FILE *f = fopen(out, "wb");
	if (!f)
		return fail("500 Internal Server Error", NULL, "cannot store the note");
	if (fwrite(body, 1, n, f) != n || fclose(f) != 0)
		return fail("500 Internal Server Error", NULL, "cannot store the note");
	header(existed ? NULL : "201 Created", NULL);
	printf("{\"id\":\"%s\",\"size\":%zu}\n", id, n);
	// The note becomes an object only if the run exits 0.
	return fflush(stdout) ? 1 : 0;
}

int main(void) {
	const char *method = getenv("REQUEST_METHOD");
	const char *path = getenv("PATH_INFO");
	if (!method)
		method = "GET";
	if (!path)
		path = "";
	if (*path == '/')
		path++;
	int head = strcmp(method, "HEAD") == 0;

	if (*path == 0) {
		if (strcmp(method, "GET") == 0 || head)
			return list();
		return fail("405 Method Not Allowed", "Allow: GET, HEAD\r\n", "the list is read-only; PUT /ID stores a note");
	}
	size_t n = strlen(path);
	if (!valid_id(path, n))
		return fail("400 Bad Request", NULL, "an id is 1 to 64 of A-Z a-z 0-9 - _");
	if (strcmp(method, "GET") == 0 || head)
		return get(path);
	if (strcmp(method, "PUT") == 0)
		return put(path);
	if (strcmp(method, "DELETE") == 0)
		return fail("405 Method Not Allowed", "Allow: GET, HEAD, PUT\r\n",
		            "notes cannot be deleted: a service stores files from /out as objects but cannot remove objects");
	return fail("405 Method Not Allowed", "Allow: GET, HEAD, PUT\r\n", "use GET or PUT");
}
