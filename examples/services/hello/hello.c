// hello: the smallest CGI-style service. It answers every request with a
// plain-text "hello". A service writes a CGI response to stdout: header
// lines, a blank line, then the body.
#include <unistd.h>

int main(void) {
	static const char resp[] = "Content-Type: text/plain\r\n\r\nhello\n";
	return write(1, resp, sizeof resp - 1) == sizeof resp - 1 ? 0 : 1;
}
