/*
 * No TLS in barged's HTTP server.  Debian's libmicrohttpd is built with
 * HTTPS support, so its code refers to ~35 gnutls functions and its
 * constructor initializes gnutls, even though barged serves the API on a
 * Unix socket only and never passes MHD_USE_TLS.  Linked against
 * libgnutls, that costs the idle daemon ~2 MiB: gnutls, p11-kit (whose
 * constructor reads the PKCS#11 module configuration), libunistring,
 * nettle, gmp and tasn1, all mapped and initialized for nothing.
 *
 * barged therefore links libmicrohttpd statically (Makefile) and these
 * definitions stand in for gnutls.  libmicrohttpd only reaches the TLS
 * ones on a daemon started with MHD_USE_TLS, so they abort: a TCP+TLS
 * listener (a later issue) must link the real gnutls and drop this file.
 * gnutls_global_init/deinit are called by libmicrohttpd's constructor and
 * destructor and do nothing here.  Unit tests and other binaries use the
 * shared libmicrohttpd as usual; only barged links src/daemon.
 *
 * The definitions deliberately see no gnutls header: none of the aborting
 * ones returns, so their parameter lists do not matter.
 */
#include <stdio.h>
#include <stdlib.h>

/* libmicrohttpd's copies of strings given in MHD_OPTION_HTTPS_* use it */
void *(*gnutls_malloc)(size_t) = malloc;

int gnutls_global_init(void);
int gnutls_global_init(void)
{
        return 0;
}

void gnutls_global_deinit(void);
void gnutls_global_deinit(void)
{
}

static void no_tls(const char *fn)
{
        fprintf(stderr, "barged: %s called, but barged is built without TLS\n", fn);
        abort();
}

#define NO_TLS(name)                                                                               \
        void name(void);                                                                           \
        void name(void)                                                                            \
        {                                                                                          \
                no_tls(#name);                                                                     \
        }

NO_TLS(gnutls_alpn_set_protocols)
NO_TLS(gnutls_bye)
NO_TLS(gnutls_certificate_allocate_credentials)
NO_TLS(gnutls_certificate_free_credentials)
NO_TLS(gnutls_certificate_server_set_request)
NO_TLS(gnutls_certificate_set_dh_params)
NO_TLS(gnutls_certificate_set_retrieve_function2)
NO_TLS(gnutls_certificate_set_retrieve_function3)
NO_TLS(gnutls_certificate_set_x509_key_mem)
NO_TLS(gnutls_certificate_set_x509_key_mem2)
NO_TLS(gnutls_certificate_set_x509_trust_mem)
NO_TLS(gnutls_cipher_get)
NO_TLS(gnutls_credentials_set)
NO_TLS(gnutls_deinit)
NO_TLS(gnutls_dh_params_deinit)
NO_TLS(gnutls_dh_params_import_pkcs3)
NO_TLS(gnutls_dh_params_init)
NO_TLS(gnutls_handshake)
NO_TLS(gnutls_init)
NO_TLS(gnutls_priority_deinit)
NO_TLS(gnutls_priority_init)
NO_TLS(gnutls_priority_set)
NO_TLS(gnutls_protocol_get_version)
NO_TLS(gnutls_psk_allocate_server_credentials)
NO_TLS(gnutls_psk_free_server_credentials)
NO_TLS(gnutls_psk_set_server_credentials_function)
NO_TLS(gnutls_record_check_pending)
NO_TLS(gnutls_record_get_direction)
NO_TLS(gnutls_record_recv)
NO_TLS(gnutls_record_send)
NO_TLS(gnutls_session_get_ptr)
NO_TLS(gnutls_session_set_ptr)
NO_TLS(gnutls_strerror)
NO_TLS(gnutls_transport_set_int2)
