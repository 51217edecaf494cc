/* transfer.h - file transfer over a peer stream: the messages on a FILE stream, safe names, the progress line; pure. */
#ifndef P2PCHAT_TRANSFER_H
#define P2PCHAT_TRANSFER_H

#include <stddef.h>
#include <stdint.h>

#include "sha256.h"

/*
 * One file travels on one stream of kind PEER_STREAM_KIND_FILE
 * (peer_stream.h), opened by the sender:
 *
 *   sender                                             receiver
 *     |-- OFFER {size, sha256, name} ------------------->|  asks (/accept, /reject),
 *     |                                                  |  or --accept-files says yes
 *     |<-- ACCEPT {offset, sha256 of the first offset} --|  offset: the partial file it
 *     |        or REJECT {reason}                        |  kept from an earlier try
 *     |-- START {offset} ------------------------------->|  the sender checked that prefix
 *     |-- the file's bytes from offset, then FIN ------->|  (0 when it did not match)
 *     |<-- DONE (SHA-256 matched, saved) ----------------|
 *     |        or FAILED {reason} ----------------------|
 *
 * Every message is framed the same way, so a reader needs no state to
 * find its end; after START the stream carries the file's bytes raw.
 *  +----------+-----------------+--------------------------+
 *  | type (8) | body length (16)| body                     |
 *  +----------+-----------------+--------------------------+
 * OFFER:   size (64) | sha256 (32 bytes) | name length (8) | name (1..255)
 * ACCEPT:  offset (64) | sha256 of the file's first offset bytes (32)
 * START:   offset (64)
 * REJECT, FAILED: reason length (8) | reason (0..255, printable)
 * DONE:    nothing
 * Integers big-endian (bytes.h).
 *
 * Resuming: the receiver keeps what arrived in a partial file named by
 * the offer's hash; when the same file is offered again, it answers
 * with that length and the hash of those bytes, and the sender goes on
 * from there only when its own first bytes hash the same. A file is
 * moved into place only after the whole file's SHA-256 matched.
 */

enum transfer_type {
	TRANSFER_OFFER = 'O',
	TRANSFER_ACCEPT = 'A',
	TRANSFER_REJECT = 'R',
	TRANSFER_START = 'S',
	TRANSFER_DONE = 'D',
	TRANSFER_FAILED = 'F',
};

#define TRANSFER_NAME_MAX 255           /* a file name's bytes, as most file systems allow */
#define TRANSFER_REASON_MAX 255
#define TRANSFER_MSG_HEADER 3           /* type, body length */
#define TRANSFER_MSG_MAX (TRANSFER_MSG_HEADER + 8 + SHA256_LEN + 1 + TRANSFER_NAME_MAX)
#define TRANSFER_SIZE_MAX (UINT64_C(1) << 50) /* 1 PiB: a size past this is a lie */

enum transfer_result {
	TRANSFER_ESHORT = -1,   /* a body shorter than its type needs */
	TRANSFER_ETYPE = -2,    /* a type this code does not know */
	TRANSFER_ELENGTH = -3,  /* a body longer than its type allows, or trailing bytes */
	TRANSFER_ENAME = -4,    /* OFFER: a name that could leave its directory or is not printable */
	TRANSFER_EVALUE = -5,   /* a size over TRANSFER_SIZE_MAX, a reason with control bytes */
	TRANSFER_ENOSPACE = -6, /* encode: the buffer is too small */
};

/* One message, decoded. Which fields mean something depends on type. */
struct transfer_msg {
	uint8_t type;                   /* enum transfer_type */
	uint64_t size;                  /* OFFER */
	uint64_t offset;                /* ACCEPT, START */
	uint8_t sha256[SHA256_LEN];     /* OFFER: the file's; ACCEPT: its first offset bytes' */
	char name[TRANSFER_NAME_MAX + 1];   /* OFFER, NUL-terminated */
	char reason[TRANSFER_REASON_MAX + 1]; /* REJECT, FAILED, NUL-terminated */
};

/*
 * Decodes the message at the start of buf[0..len). Returns the bytes it
 * took (> 0), 0 when buf holds only part of it (read more), or a negative
 * enum transfer_result. out is cleared first.
 */
int transfer_msg_decode(const uint8_t *buf, size_t len, struct transfer_msg *out);

/* Encodes m into buf (cap bytes). Returns the length, or a negative enum transfer_result. */
int transfer_msg_encode(const struct transfer_msg *m, uint8_t *buf, size_t cap);

/*
 * Returns 1 when name may be a file's name in the receiver's directory:
 * 1..TRANSFER_NAME_MAX bytes, no '/', no '\\', no control byte (below
 * 0x20, or 0x7f), not starting with '.' (nor ".", "..", nor our partial
 * files, which start with a dot). Else 0.
 */
int transfer_name_ok(const char *name);

/* Returns the last component of path (after the last '/', trailing '/' ignored), in out (cap bytes). */
void transfer_basename(const char *path, char *out, size_t cap);

/*
 * Writes into out (cap bytes) the n-th name to try for name when the
 * ones before exist: n 0 is name itself, n >= 1 "stem (n).ext"
 * ("report.pdf" -> "report (1).pdf"; "README" -> "README (1)").
 * Returns 0, or -1 when it does not fit.
 */
int transfer_unique_name(const char *name, unsigned n, char *out, size_t cap);

/* Writes a byte count as "2.1 MB" (decimal units, as the rate) into out. */
void transfer_bytes_str(uint64_t bytes, char *out, size_t cap);

/*
 * Writes the progress of a transfer as one line into out (cap bytes):
 * "LABEL [#####-----]  45%  1.2 MB/s  3 s left", the bar bar_cols
 * wide (0: no bar). rate in bytes a second (0: not known yet, no time
 * left shown).
 */
void transfer_progress_line(char *out, size_t cap, const char *label, uint64_t done,
			    uint64_t total, uint64_t rate, int bar_cols);

/* Writes the 64 lowercase hex digits of a SHA-256 into out (>= 65 bytes). */
void transfer_hex(const uint8_t sha[SHA256_LEN], char *out);

#endif
