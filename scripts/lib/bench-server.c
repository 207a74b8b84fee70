/*
 * A minimal HTTP/1.1 speed-test server for `scripts/bench measure`: an independent reference, so
 * that hermes-measure and curl are compared against a server that is neither of them nor
 * hermes-target. It speaks just enough of Cloudflare's protocol for hermes-measure's default
 * engine:
 *
 *   GET  /__down?bytes=N   N bytes from a static buffer of random bytes (bytes=0 is a round trip)
 *   POST /__up             reads and discards a Content-Length body, answers 200 with no body (PUT
 *                          too, as curl -T sends it)
 *   anything else          404 with no body (/meta and /cdn-cgi/trace: the run goes on without)
 *
 * One thread per connection with blocking sockets (a speed test opens at most a few dozen), keep-
 * alive, TCP_NODELAY, and socket buffers left to the kernel. It prints "listening on
 * 127.0.0.1:PORT" on standard error once it accepts connections.
 *
 *   cc -O2 -pthread -o bench-server scripts/lib/bench-server.c && ./bench-server [PORT]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

enum { payload_size = 1 << 20, head_limit = 16 << 10, scratch_size = 256 << 10 };
static unsigned char payload[payload_size];

static int send_all(int fd, const void *data, size_t length, int flags) {
    const unsigned char *bytes = data;
    while (length > 0) {
        ssize_t sent = send(fd, bytes, length, flags | MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR) continue;
        if (sent <= 0) return -1;
        bytes += sent;
        length -= (size_t)sent;
    }
    return 0;
}

static int reply(int fd, const char *status, unsigned long long length) {
    char head[256];
    int size = snprintf(head, sizeof head,
                        "HTTP/1.1 %s\r\nContent-Length: %llu\r\nContent-Type: application/octet-stream\r\n"
                        "Cache-Control: no-store\r\n\r\n",
                        status, length);
    return send_all(fd, head, (size_t)size, length > 0 ? MSG_MORE : 0);
}

/* The value of header `name` in the head [head, end), or NULL. */
static const char *header(const char *head, const char *end, const char *name) {
    size_t length = strlen(name);
    for (const char *line = strstr(head, "\r\n"); line && line + 2 < end; line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, name, length) == 0 && line[2 + length] == ':') return line + 3 + length;
    }
    return NULL;
}

static void *serve(void *argument) {
    int fd = (int)(long)argument;
    static __thread char buffer[scratch_size];
    size_t filled = 0;
    for (;;) {
        char *end = NULL;
        while (!(end = memmem(buffer, filled, "\r\n\r\n", 4))) {
            if (filled == head_limit) goto done;
            ssize_t got = recv(fd, buffer + filled, head_limit - filled, 0);
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) goto done;
            filled += (size_t)got;
        }
        end += 4;
        char saved = *(end - 1);
        *(end - 1) = 0;
        size_t consumed = (size_t)(end - buffer);
        int ok;
        if (strncmp(buffer, "GET /__down", 11) == 0) {
            const char *bytes = strstr(buffer, "bytes=");
            unsigned long long remaining = bytes ? strtoull(bytes + 6, NULL, 10) : 0;
            ok = reply(fd, "200 OK", remaining) == 0;
            while (ok && remaining > 0) {
                size_t chunk = remaining < payload_size ? (size_t)remaining : payload_size;
                ok = send_all(fd, payload, chunk, 0) == 0;
                remaining -= chunk;
            }
        } else if (strncmp(buffer, "POST /__up", 10) == 0 || strncmp(buffer, "PUT /__up", 9) == 0) {
            const char *length = header(buffer, end, "Content-Length");
            unsigned long long remaining = length ? strtoull(length, NULL, 10) : 0;
            if (!length) {
                reply(fd, "411 Length Required", 0);
                goto done;
            }
            size_t already = filled - consumed < remaining ? filled - consumed : (size_t)remaining;
            remaining -= already;
            consumed += already;
            while (remaining > 0) {
                ssize_t got = recv(fd, buffer, remaining < scratch_size ? (size_t)remaining : scratch_size, 0);
                if (got < 0 && errno == EINTR) continue;
                if (got <= 0) goto done;
                remaining -= (unsigned long long)got;
            }
            /* The body was read into the buffer: what is kept starts after it, and nothing is. */
            if (consumed > filled) consumed = filled;
            ok = reply(fd, "200 OK", 0) == 0;
        } else {
            ok = reply(fd, "404 Not Found", 0) == 0;
        }
        *(end - 1) = saved;
        if (!ok) break;
        memmove(buffer, buffer + consumed, filled - consumed);
        filled -= consumed;
    }
done:
    close(fd);
    return NULL;
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    for (size_t i = 0; i < payload_size; i++) payload[i] = (unsigned char)(random() >> 7);
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons(argc > 1 ? atoi(argv[1]) : 0)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 128) != 0) {
        perror("bench-server: listen");
        return 69;
    }
    socklen_t size = sizeof address;
    getsockname(listener, (struct sockaddr *)&address, &size);
    fprintf(stderr, "bench-server: listening on 127.0.0.1:%d\n", ntohs(address.sin_port));
    for (;;) {
        int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            perror("bench-server: accept");
            return 71;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&thread, &attributes, serve, (void *)(long)fd) != 0) close(fd);
        pthread_attr_destroy(&attributes);
    }
}
