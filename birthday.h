/* birthday.h - the birthday method through one symmetric NAT: who does what, which ports, how fast; pure (no sockets, no clock). */
#ifndef P2PCHAT_BIRTHDAY_H
#define P2PCHAT_BIRTHDAY_H

#include <stdint.h>

/*
 * A symmetric NAT (RFC 4787, 4.1: address- and port-dependent mapping)
 * gives each destination a new public port, so the port the server saw is
 * not where a peer's probes would land. When the other side's NAT keeps
 * one port for every destination, both can still meet by numbers:
 *
 *   the hard side (symmetric)           the easy side (keeps its port)
 *   opens BDAY_SOCKETS sockets and      sends BDAY_PROBES probes to
 *   sends one probe from each to        random ports of the hard side's
 *   the easy side's public endpoint:    public address: each lands in
 *   its NAT opens that many mappings,   one of those mappings with odds
 *   each admitting the easy endpoint    BDAY_SOCKETS / BDAY_PORT_COUNT
 *
 * n random probes all miss k open ports among N with odds (1 - k/N)^n:
 * k = 256, N = 64,512, n = 1,024: 1.7% (98% found, the figure Tailscale
 * published); n = 2,048: 0.03%. It is the birthday paradox's arithmetic
 * (two random sets meet far sooner than one element finds another).
 * The probe that lands is answered from the socket it reached, and that
 * socket's path is the chat's once it proves itself (PATH_CHALLENGE).
 */
#define BDAY_SOCKETS 256          /* the hard side's sockets, each a mapping at its NAT */
#define BDAY_PROBES 2048          /* the easy side's probes a try: misses 0.03% (above) */
#define BDAY_RATE_PER_S 150       /* probes a second, each side: paced, a few kB/s, not a flood */
#define BDAY_PORT_MIN 1024        /* NATs map to 1024..65535 (Linux MASQUERADE --random-fully does) */
#define BDAY_PORT_COUNT 64512     /* 65536 - BDAY_PORT_MIN */
#define BDAY_SEQ_GAP 64           /* the server saw two ports this close: the NAT counts... */
#define BDAY_PREDICT 512          /* ...and the hard side's new mappings follow: these ports first */
#define BDAY_LINGER_MS 2000       /* after the last probe, an answer still counts this long */
#define BDAY_TRY_MS (BDAY_PROBES * 1000 / BDAY_RATE_PER_S + BDAY_LINGER_MS) /* a try: 15.6 s */
#define BDAY_BACKOFF_MS 60000     /* a try that failed waits this long for the next one... */
#define BDAY_BACKOFF_MAX_MS 960000 /* ...doubled after each, up to 16 minutes */
#define BDAY_DATA_LEN 8           /* the challenge bytes every probe of a try carries */

/* What a side does, by the two NATs' kinds. */
enum bday_role {
	BDAY_NONE,      /* a kind unknown, or no symmetric NAT: ordinary punching does it */
	BDAY_HARD,      /* ours is symmetric, theirs keeps its port: many sockets */
	BDAY_EASY,      /* ours keeps its port, theirs is symmetric: many ports */
	BDAY_BOTH_HARD, /* both symmetric: nothing to aim at on either side; the relay */
};

/* One peer's birthday tries. */
struct bday {
	enum bday_role role;      /* of the try under way, or the last one */
	int running;              /* a try is under way (all zeros: none made, none under way) */
	int64_t start_ms;         /* when it started */
	uint32_t sent;            /* probes sent in it */
	uint32_t total;           /* probes it sends: BDAY_PROBES (easy), BDAY_SOCKETS (hard) */
	uint32_t mul, add;        /* easy: the port permutation, mul coprime to BDAY_PORT_COUNT */
	uint16_t predict_from;    /* easy: the first predicted port, 0 when the NAT looks random */
	int predict_step;         /* easy: +1 when the NAT counts up, -1 when it counts down */
	int tries;                /* tries made */
	int64_t next_try_ms;      /* no try before then (the back-off) */
	uint8_t data[BDAY_DATA_LEN]; /* the try's challenge bytes: the caller fills them */
};

/* Returns the role for our NAT's kind and the peer's (enum proto_nat values). */
enum bday_role bday_role(uint8_t ours, uint8_t theirs);

/* Sets up b with no try made and none under way (as all zero bytes do). */
void bday_init(struct bday *b);

/*
 * Starts a try of role (BDAY_HARD or BDAY_EASY) at now. main_port and
 * alt_port are the hard side's public ports as the server's two ports saw
 * them, alt_port the later mapping (alt_port 0: not known); seed picks the
 * easy side's port order.
 */
void bday_start(struct bday *b, enum bday_role role, uint16_t main_port, uint16_t alt_port,
		uint32_t seed, int64_t now);

/* Returns how many probes are due at now (paced at BDAY_RATE_PER_S); 0 when no try is under way. */
uint32_t bday_due(const struct bday *b, int64_t now);

/* Returns when the next probe is due, or the try's end once all went; INT64_MAX when none is under way. */
int64_t bday_next_ms(const struct bday *b);

/* Returns 1 when a try is under way and over at now (its last probe sent, BDAY_LINGER_MS gone). */
int bday_over(const struct bday *b, int64_t now);

/*
 * Returns the easy side's i-th port (0 <= i): the BDAY_PREDICT predicted
 * ones first (on from the alternate port, the way the NAT counted), then
 * every port in random order.
 */
uint16_t bday_port(const struct bday *b, uint32_t i);

/* Ends the try under way at now: won, or failed (the next waits BDAY_BACKOFF_MS, doubled each time). */
void bday_stop(struct bday *b, int won, int64_t now);

#endif
