/* birthday.c - the birthday method's decisions: roles, the easy side's port order, pacing and back-off (birthday.h). */
#include <string.h>

#include "birthday.h"
#include "protocol.h"

enum bday_role bday_role(uint8_t ours, uint8_t theirs)
{
	if (ours == PROTO_NAT_SYMMETRIC && theirs == PROTO_NAT_SYMMETRIC)
		return BDAY_BOTH_HARD;
	if (ours == PROTO_NAT_SYMMETRIC && theirs == PROTO_NAT_KEEPS)
		return BDAY_HARD;
	if (ours == PROTO_NAT_KEEPS && theirs == PROTO_NAT_SYMMETRIC)
		return BDAY_EASY;
	return BDAY_NONE;
}

void bday_init(struct bday *b)
{
	memset(b, 0, sizeof(*b));
}

/* Returns 1 when m shares no factor with BDAY_PORT_COUNT (2^10 x 3^2 x 7). */
static int coprime(uint32_t m)
{
	return m % 2 != 0 && m % 3 != 0 && m % 7 != 0;
}

/* Returns port p moved d places within BDAY_PORT_MIN..65535, round from one end to the other. */
static uint16_t port_step(uint16_t p, int32_t d)
{
	int32_t off = ((int32_t)p - BDAY_PORT_MIN + d) % BDAY_PORT_COUNT;

	return (uint16_t)(BDAY_PORT_MIN + (off < 0 ? off + BDAY_PORT_COUNT : off));
}

void bday_start(struct bday *b, enum bday_role role, uint16_t main_port, uint16_t alt_port,
		uint32_t seed, int64_t now)
{
	/* From the main port's mapping to the alternate one's, the short way round the range. */
	int32_t gap = ((int32_t)alt_port - main_port + BDAY_PORT_COUNT) % BDAY_PORT_COUNT;

	if (gap > BDAY_PORT_COUNT / 2)
		gap -= BDAY_PORT_COUNT;
	b->role = role;
	b->running = 1;
	b->start_ms = now;
	b->sent = 0;
	b->total = role == BDAY_HARD ? BDAY_SOCKETS : BDAY_PROBES;
	/*
	 * port = MIN + (mul x j + add) mod COUNT visits every port once as j
	 * goes round, whatever add, when mul is coprime to COUNT. Any order
	 * serves against a NAT that picks at random; a random one keeps two
	 * tries (and two peers) from probing alike.
	 */
	b->mul = (seed % BDAY_PORT_COUNT) | 1;
	while (!coprime(b->mul))
		b->mul += 2;
	b->add = (seed >> 16) % BDAY_PORT_COUNT;
	/*
	 * A NAT that counts shows the server two near ports: the main port's
	 * mapping, then the alternate one's (MAPPING goes after REGISTERED).
	 * The hard side's next mappings are the ports on from the alternate
	 * one, the same way (Ford, Srisuresh & Kegel, 5.1's port prediction;
	 * most such NATs count up, by one), so those go first. Ports below
	 * BDAY_PORT_MIN are not in the range the easy side probes.
	 */
	b->predict_from = 0;
	b->predict_step = gap < 0 ? -1 : 1;
	if (role == BDAY_EASY && main_port >= BDAY_PORT_MIN && alt_port >= BDAY_PORT_MIN &&
	    gap != 0 && gap >= -BDAY_SEQ_GAP && gap <= BDAY_SEQ_GAP)
		b->predict_from = port_step(alt_port, b->predict_step);
}

uint32_t bday_due(const struct bday *b, int64_t now)
{
	int64_t paced;

	if (!b->running || now < b->start_ms)
		return 0;
	/* The first goes at once, then one every 1000 / BDAY_RATE_PER_S ms. */
	paced = (now - b->start_ms) * BDAY_RATE_PER_S / 1000 + 1;
	if (paced > (int64_t)b->total)
		paced = b->total;
	return paced > (int64_t)b->sent ? (uint32_t)(paced - b->sent) : 0;
}

/* When the try's last probe is due. */
static int64_t last_probe_ms(const struct bday *b)
{
	return b->start_ms + (((int64_t)b->total - 1) * 1000 + BDAY_RATE_PER_S - 1) / BDAY_RATE_PER_S;
}

int64_t bday_next_ms(const struct bday *b)
{
	int64_t at;

	if (!b->running)
		return INT64_MAX;
	if (b->sent >= b->total)
		return b->start_ms + BDAY_TRY_MS;
	/* The smallest t with (t - start) x rate / 1000 + 1 > sent. */
	at = b->start_ms + ((int64_t)b->sent * 1000 + BDAY_RATE_PER_S - 1) / BDAY_RATE_PER_S;
	return at;
}

int bday_over(const struct bday *b, int64_t now)
{
	int64_t end = b->start_ms + BDAY_TRY_MS;

	if (!b->running)
		return 0;
	/* The hard side's sockets stay open as long as the easy side probes. */
	if (last_probe_ms(b) + BDAY_LINGER_MS > end)
		end = last_probe_ms(b) + BDAY_LINGER_MS;
	return now >= end;
}

uint16_t bday_port(const struct bday *b, uint32_t i)
{
	uint32_t j;

	if (b->predict_from != 0 && i < BDAY_PREDICT)
		return port_step(b->predict_from, b->predict_step * (int32_t)i);
	j = (i % BDAY_PORT_COUNT);
	return (uint16_t)(BDAY_PORT_MIN +
			  ((uint64_t)b->mul * j + b->add) % BDAY_PORT_COUNT);
}

void bday_stop(struct bday *b, int won, int64_t now)
{
	int64_t wait = BDAY_BACKOFF_MS;

	if (!b->running)
		return;
	b->running = 0;
	b->tries++;
	if (won) {
		b->next_try_ms = now + BDAY_BACKOFF_MS;
		return;
	}
	for (int i = 1; i < b->tries && wait < BDAY_BACKOFF_MAX_MS; i++)
		wait *= 2;
	b->next_try_ms = now + (wait < BDAY_BACKOFF_MAX_MS ? wait : BDAY_BACKOFF_MAX_MS);
}
