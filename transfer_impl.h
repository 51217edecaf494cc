/* transfer_impl.h - what the three parts of file transfer share (transfer.c, transfer_send.c, transfer_recv.c); not for other modules. */
#ifndef P2PCHAT_TRANSFER_IMPL_H
#define P2PCHAT_TRANSFER_IMPL_H

#include <limits.h>
#include <stdint.h>

#include "client_impl.h"
#include "sha256.h"
#include "transfer.h"

/*
 * A transfer's life (transfer.h draws the messages):
 *
 *   sender:   HASHING --> OFFERED --ACCEPT--> SENDING --all written, FIN--> FINISHING --DONE--> gone
 *   receiver: WAIT_OFFER --OFFER--> ASKING --/accept--> ACCEPTED --START--> RECEIVING
 *             --FIN, size and SHA-256 match, moved into place--> gone
 *
 * Either side may fail it (REJECT, FAILED, a reset, a deadline); the
 * receiver's partial file stays for the next try. When the peers' stream
 * connection ends (a restart), the sender offers again on a new stream and
 * the receiver answers with what it kept: the transfer resumes.
 *
 * transfer.c holds the table, the offers and their answers (/accept,
 * /reject), the stream's callbacks and the timers; transfer_send.c the
 * sender's path (hashing, the bytes out); transfer_recv.c the receiver's
 * (the partial file, its check, its move into place).
 */

#define TRANSFER_MAX 16                 /* transfers at once, both ways */
#define TRANSFER_URGENCY 4              /* after chat (0), fairly among files and forwards (RFC 9218) */
#define TRANSFER_CHUNK 65536            /* bytes read from a file at a time */
#define TRANSFER_WRITE_BUF (256 << 10)  /* the receiver's bytes written at a time: a pwrite for each ~1.1 kB packet cost a tenth of its time */
#define TRANSFER_HASH_STEP (4 << 20)    /* bytes hashed before an offer per turn of the loop: ~40 ms, so chat goes on */
#define TRANSFER_RETRIES 3              /* offers again after the connection ended, at most */
#define TRANSFER_PROGRESS_MS 250        /* a terminal's progress bar is redrawn this often */
#define TRANSFER_PROGRESS_COLS 20       /* the bar's width */
#define TRANSFER_PLAIN_STEPS 4          /* not a terminal: a line at each quarter */
#define TRANSFER_ASK_MS 300000          /* an offer waits this long for /accept: a person decides */
#define TRANSFER_PROGRESS_ID 0x80000000u /* client_io.progress ids: this bit and the slot */

enum xstate {
	X_FREE = 0,
	X_HASHING,      /* sender: hashing the file, a step each turn, before the offer */
	X_OFFERED,      /* sender: OFFER written, waiting for the answer */
	X_SENDING,      /* sender: START written, the file's bytes going out */
	X_FINISHING,    /* sender: every byte and FIN written, waiting for DONE */
	X_WAIT_OFFER,   /* receiver: the stream opened, its OFFER not read yet */
	X_ASKING,       /* receiver: the user is asked */
	X_ACCEPTED,     /* receiver: ACCEPT written, waiting for START */
	X_RECEIVING,    /* receiver: bytes going into the partial file */
};

struct xfer {
	uint8_t state;
	uint8_t outgoing;
	uint8_t retries;
	uint8_t relay_said;
	char peer[PROTO_NAME_MAX + 1];
	uint64_t sid;
	char name[TRANSFER_NAME_MAX + 1];       /* the offered name */
	char path[PATH_MAX];                    /* sender: the file; receiver: the partial file */
	char dir[PATH_MAX];                     /* receiver: where it goes */
	uint64_t size;
	uint8_t sha[SHA256_LEN];
	int fd;
	uint64_t off;           /* sender: bytes of the file hashed, then written to the stream; receiver: in the partial file */
	uint64_t start;         /* where this run began (a resume) */
	struct sha256_ctx hash; /* sender: of the file, before the offer; receiver: of the partial file's bytes */
	uint8_t *wbuf;          /* receiver: TRANSFER_WRITE_BUF bytes, allocated at the first; NULL before */
	size_t wlen;            /* receiver: bytes in wbuf, the last of the off counted */
	uint8_t in[TRANSFER_MSG_MAX];
	size_t in_len;
	int64_t t0_ms;          /* START */
	int64_t deadline_ms;    /* receiver: -1, or when an unanswered offer is refused */
	int64_t away_ms;        /* -1, or since when the peer is not connected: -w of that ends it */
	int64_t shown_ms;
	uint64_t rate_bytes;    /* for the rate: bytes at rate_ms */
	int64_t rate_ms;
	uint64_t rate;          /* bytes a second, smoothed */
	int plain_step;         /* quarters printed */
};

struct transfers {
	struct xfer x[TRANSFER_MAX];
};

/* transfer.c: the table, the messages, what the user is told. */
/* Prints one line through io.print (client_say's, for lines with paths up to PATH_MAX). */
void xfer_say(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A free slot for a transfer with peer, cleared; NULL when all TRANSFER_MAX are in use. */
struct xfer *xfer_new(struct client *c, const char *peer, int outgoing);
/* x's id for client_io.progress. */
uint32_t xfer_progress_id(const struct client *c, const struct xfer *x);
/* Forgets x: its file closed, its progress bar gone. */
void xfer_drop(struct client *c, struct xfer *x);
/* "NAME to PEER" or "NAME from PEER" into out, safe to print. */
void xfer_label(const struct xfer *x, char *out, size_t cap);
/* Writes m on x's stream. Returns 0, or -1 when the stream took less. */
int xfer_put(struct client *c, struct xfer *x, const struct transfer_msg *m);
/* Writes a REJECT or FAILED (type) with reason, then FIN. */
void xfer_put_reason(struct client *c, struct xfer *x, uint8_t type, const char *reason);
/* The sender's failure: said, counted in stats.failed_files, the stream reset, x dropped. */
void xfer_send_failed(struct client *c, struct xfer *x, const char *why);
/* The receiver's: said, the sender told (tell) or stopped, x dropped; the partial file stays. */
void xfer_recv_failed(struct client *c, struct xfer *x, const char *why, const char *tell);
/* The rate, and the progress bar (a terminal) or a line each quarter (a script). */
void xfer_progress(struct client *c, struct xfer *x, int64_t now);
/* Says once that x goes through the server's relay, when it does. */
void xfer_say_relayed(struct client *c, struct xfer *x);
/* Opens a stream to x->peer and writes the OFFER. Returns 0, or -1 with *why set. */
int xfer_offer(struct client *c, struct xfer *x, const char **why);

/* transfer_send.c: the sender's path. */
/* Fills x's stream with the file's next bytes while it has room; FIN after the last. */
void xfer_feed(struct client *c, struct xfer *x);
/* Hashes the next TRANSFER_HASH_STEP bytes of the file; at its end, offers it. */
void xfer_hash_step(struct client *c, struct xfer *x);
/* The receiver's answer to our OFFER (ACCEPT, REJECT, FAILED) or its DONE. */
void xfer_on_answer(struct client *c, struct xfer *x, const struct transfer_msg *m, int64_t now);

/* transfer_recv.c: the receiver's path. */
/* Closes x's file, writing out what waits in its buffer first (the partial file keeps it). */
void xfer_close_file(struct xfer *x);
/* /accept into dir: opens (or finds) the partial file and answers ACCEPT with what it holds. */
void xfer_accept_into(struct client *c, struct xfer *x, const char *dir);
/* START from offset (at most what is held): the partial file is cut there. */
void xfer_on_start(struct client *c, struct xfer *x, uint64_t offset, int64_t now);
/* The file's bytes: hashed, and written to the partial file. */
void xfer_take_bytes(struct client *c, struct xfer *x, const uint8_t *data, size_t len,
		     int64_t now);
/* FIN: checks the size and SHA-256, saves the file, answers DONE. */
void xfer_on_fin(struct client *c, struct xfer *x);

#endif
