// cgitool is a CGI guest for the services tests. QUERY_STRING picks what it
// does:
//   counter  print a global counter after incrementing it (always 1 if
//            nothing survives between requests)
//   sleep    loop forever (the timeout must answer 504)
//   trap     crash before writing anything (502)
//   nohdr    write a body without a CGI header (502)
//   status   answer 201 with a custom header
//   spew     write a header, then output without end (quota)
//   version  print the VERSION environment variable
//   cat      serve the file /in + PATH_INFO (404 when it cannot be opened)
//   save     store the request body as /out + PATH_INFO
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int counter;

int main(void) {
	const char *q = getenv("QUERY_STRING");
	if (!q) q = "";
	if (strcmp(q, "counter") == 0) {
		counter++;
		printf("Content-Type: text/plain\r\n\r\n%d\n", counter);
	} else if (strcmp(q, "sleep") == 0) {
		volatile unsigned long n = 0;
		for (;;) n++;
	} else if (strcmp(q, "trap") == 0) {
		__builtin_trap();
	} else if (strcmp(q, "nohdr") == 0) {
		printf("just a body\n");
	} else if (strcmp(q, "status") == 0) {
		printf("Status: 201 Created\r\nContent-Type: text/plain\r\nX-Guest: yes\r\n\r\nmade\n");
	} else if (strcmp(q, "spew") == 0) {
		printf("Content-Type: application/octet-stream\r\n\r\n");
		static char buf[65536];
		memset(buf, 'x', sizeof buf);
		for (;;) fwrite(buf, 1, sizeof buf, stdout);
	} else if (strcmp(q, "version") == 0) {
		const char *v = getenv("VERSION");
		printf("Content-Type: text/plain\r\n\r\n%s\n", v ? v : "");
	} else if (strcmp(q, "save") == 0) {
		const char *p = getenv("PATH_INFO");
		char path[1024];
		snprintf(path, sizeof path, "/out%s", p ? p : "/unnamed");
		FILE *f = fopen(path, "wb");
		if (!f) {
			printf("Status: 500 Internal Server Error\r\nContent-Type: text/plain\r\n\r\ncannot create %s\n", path);
			return 0;
		}
		char buf[4096];
		size_t n, total = 0;
		while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) {
			fwrite(buf, 1, n, f);
			total += n;
		}
		fclose(f);
		printf("Status: 201 Created\r\nContent-Type: application/json\r\n\r\n{\"saved\":%zu}\n", total);
	} else if (strcmp(q, "cat") == 0) {
		const char *p = getenv("PATH_INFO");
		char path[1024];
		snprintf(path, sizeof path, "/in%s", p ? p : "");
		FILE *f = fopen(path, "rb");
		if (!f) {
			printf("Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\nno such file\n");
			return 0;
		}
		printf("Content-Type: application/octet-stream\r\n\r\n");
		char buf[4096];
		size_t n;
		while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stdout);
		fclose(f);
	} else {
		printf("Status: 400 Bad Request\r\nContent-Type: text/plain\r\n\r\nunknown mode\n");
	}
	return 0;
}
