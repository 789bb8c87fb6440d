// echo: a CGI-style service that shows what it was given. The response body
// lists the environment variables the service saw (the CGI variables, such
// as REQUEST_METHOD, PATH_INFO, QUERY_STRING, CONTENT_TYPE and HTTP_*), one
// "NAME=VALUE" per line in sorted order, then a blank line, then the request
// body (stdin) copied unchanged.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static int byname(const void *a, const void *b) {
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void) {
	size_t n = 0;
	while (environ[n])
		n++;
	char **vars = malloc((n + 1) * sizeof *vars);
	if (!vars)
		return 1;
	memcpy(vars, environ, n * sizeof *vars);
	qsort(vars, n, sizeof *vars, byname);

	fputs("Content-Type: text/plain\r\n\r\n", stdout);
	for (size_t i = 0; i < n; i++)
		printf("%s\n", vars[i]);
	putchar('\n');

	static char buf[64 * 1024];
	for (;;) {
		size_t r = fread(buf, 1, sizeof buf, stdin);
		if (r > 0 && fwrite(buf, 1, r, stdout) != r)
			return 1;
		if (r < sizeof buf)
			break;
	}
	if (ferror(stdin)) {
		fprintf(stderr, "echo: stdin: %s\n", strerror(errno));
		return 1;
	}
	return fflush(stdout) ? 1 : 0;
}
