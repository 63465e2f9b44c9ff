/* loadgen.c: a minimal closed-loop HTTP/1.1 load generator for the test
 * server benchmark: C keep-alive connections, each sending the next POST as
 * soon as the previous response (parsed by Content-Length) is complete.
 * Usage: loadgen PORT CONNECTIONS REQUESTS; prints requests/s. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
  int fd;
  char buf[65536];
  size_t len;
};

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* bytes of one complete response at the start of b, or 0 */
static size_t complete(const char *b, size_t n)
{
  const char *end = memmem(b, n, "\r\n\r\n", 4);
  if (!end) return 0;
  const char *cl = strcasestr(b, "content-length:");
  if (!cl || cl > end) return 0;
  size_t head = (size_t)(end + 4 - b), body = strtoul(cl + 15, NULL, 10);
  return n >= head + body ? head + body : 0;
}

int main(int argc, char **argv)
{
  if (argc < 4) {
    fprintf(stderr, "usage: loadgen PORT CONNECTIONS REQUESTS\n");
    return 2;
  }
  int port = atoi(argv[1]), nc = atoi(argv[2]);
  long total = atol(argv[3]), sent = 0, done = 0;
  const char *body = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}]}";
  char req[512];
  int rl = snprintf(req, sizeof req,
                    "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
                    strlen(body), body);
  struct conn *c = calloc((size_t)nc, sizeof *c);
  struct pollfd *p = calloc((size_t)nc, sizeof *p);
  double t0 = now();
  for (int i = 0; i < nc; i++) {
    c[i].fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(c[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c[i].fd, (struct sockaddr *)&sa, sizeof sa)) { perror("connect"); return 1; }
    p[i].fd = c[i].fd;
    p[i].events = POLLIN;
    if (sent < total && write(c[i].fd, req, (size_t)rl) == rl) sent++;
  }
  while (done < total) {
    if (poll(p, (nfds_t)nc, 5000) <= 0) { fprintf(stderr, "loadgen: stalled\n"); return 1; }
    for (int i = 0; i < nc; i++) {
      if (!(p[i].revents & POLLIN)) continue;
      ssize_t n = read(c[i].fd, c[i].buf + c[i].len, sizeof c[i].buf - c[i].len);
      if (n <= 0) { fprintf(stderr, "loadgen: connection closed\n"); return 1; }
      c[i].len += (size_t)n;
      size_t k;
      while ((k = complete(c[i].buf, c[i].len))) {
        memmove(c[i].buf, c[i].buf + k, c[i].len - k);
        c[i].len -= k;
        done++;
        if (sent < total && write(c[i].fd, req, (size_t)rl) == rl) sent++;
      }
    }
  }
  double secs = now() - t0;
  printf("connections=%d requests=%ld seconds=%.3f req_per_s=%.0f\n", nc, done, secs, done / secs);
  return 0;
}
