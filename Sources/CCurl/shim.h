#ifndef HERMES_CCURL_SHIM_H
#define HERMES_CCURL_SHIM_H
#include <curl/curl.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <stddef.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

/*
 * curl_easy_setopt, curl_easy_getinfo and curl_multi_setopt are C variadic functions, which Swift
 * cannot call. Each wrapper below fixes one argument type, so Swift sees a checked signature and
 * passing the wrong kind of value for an option becomes a compile error instead of undefined
 * behaviour. Callback setters also fix the option, so a callback cannot be installed under an
 * option that expects a different function type.
 */

/* CURL_GLOBAL_DEFAULT is built from macros that Swift does not import. */
static inline CURLcode hermes_curl_global_init(void) {
    return curl_global_init(CURL_GLOBAL_DEFAULT);
}

static inline CURLcode hermes_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode hermes_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode hermes_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode hermes_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode hermes_easy_setopt_slist(CURL *handle, CURLoption option,
                                                struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode hermes_easy_set_write_function(CURL *handle, curl_write_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, callback);
}

/* Header lines arrive through a function of the same type as the body's write function. */
static inline CURLcode hermes_easy_set_header_function(CURL *handle, curl_write_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, callback);
}

/*
 * Sets SO_LINGER to zero on a new connection's socket, so that closing it resets the connection
 * and drops what its send buffer still holds, instead of the kernel sending it on after the
 * transfer was stopped (a speed test's cancelled upload would go on loading the link).
 */
static inline int hermes_socket_reset_on_close(void *client, curl_socket_t socket, curlsocktype purpose) {
    (void)client;
    if (purpose == CURLSOCKTYPE_IPCXN) {
        struct linger linger = {1, 0};
        setsockopt(socket, SOL_SOCKET, SO_LINGER, &linger, sizeof(linger));
    }
    return CURL_SOCKOPT_OK;
}

static inline CURLcode hermes_easy_set_reset_on_close(CURL *handle) {
    return curl_easy_setopt(handle, CURLOPT_SOCKOPTFUNCTION, hermes_socket_reset_on_close);
}

static inline CURLcode hermes_easy_set_read_function(CURL *handle, curl_read_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_READFUNCTION, callback);
}

static inline CURLcode hermes_easy_set_seek_function(CURL *handle, curl_seek_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_SEEKFUNCTION, callback);
}

static inline CURLcode hermes_easy_set_xferinfo_function(CURL *handle,
                                                         curl_xferinfo_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, callback);
}

static inline CURLcode hermes_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode hermes_easy_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode hermes_easy_getinfo_socket(CURL *handle, CURLINFO info, curl_socket_t *value) {
    return curl_easy_getinfo(handle, info, value);
}

/*
 * Bytes in a TCP socket's send queue that the peer has not acknowledged (sent or not); -1 on
 * error. ioctl is variadic, so Swift cannot call it directly.
 */
static inline long hermes_socket_unacknowledged_bytes(int socket) {
    int queued = 0;
    return ioctl(socket, SIOCOUTQ, &queued) == 0 ? (long)queued : -1;
}

/*
 * The kernel's round-trip time of a TCP socket, in microseconds; -1 on error. The
 * draft-ietf-ippm-responsiveness substitute for a self probe where HTTP/1.1 cannot put a request
 * on a busy connection. A sender's smoothed RTT (tcpi_rtt) follows the ACKs of what it sends; a
 * receiver sends almost nothing, so its tcpi_rtt stays what the request's ACK made it, and the
 * receiver's own estimate (tcpi_rcv_rtt, taken once per window of received data) is the one that
 * follows the queue.
 */
static inline long hermes_socket_round_trip_us(int socket, int receiving) {
    struct tcp_info info;
    socklen_t length = sizeof(info);
    if (getsockopt(socket, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return -1;
    if (receiving) {
        if (length < offsetof(struct tcp_info, tcpi_rcv_rtt) + sizeof(info.tcpi_rcv_rtt)) return -1;
        return (long)info.tcpi_rcv_rtt;
    }
    if (length < offsetof(struct tcp_info, tcpi_rtt) + sizeof(info.tcpi_rtt)) return -1;
    return (long)info.tcpi_rtt;
}

/* The string stays owned by the handle and is valid until its next transfer or cleanup. */
static inline CURLcode hermes_easy_getinfo_string(CURL *handle, CURLINFO info, char **value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLMcode hermes_multi_setopt_long(CURLM *handle, CURLMoption option, long value) {
    return curl_multi_setopt(handle, option, value);
}

#endif
