/* tests/tmpdir.h - what the state-directory tests share: a temporary directory per test, files planted in it, snapshots that prove a refusal changed nothing. Header-only; define _XOPEN_SOURCE 700 (nftw) first. */
#ifndef TESTS_TMPDIR_H
#define TESTS_TMPDIR_H

#include <check.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Makes "/tmp/<prefix>.XXXXXX" (mkdtemp: mode 0700) into tmp[0..cap). */
static inline void tmpdir_make(char *tmp, size_t cap, const char *prefix)
{
	snprintf(tmp, cap, "/tmp/%s.XXXXXX", prefix);
	ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static inline int tmpdir_remove_one(const char *path, const struct stat *st, int flag,
				    struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

/* Removes tmp and all below it, links as links (never what they point to). */
static inline void tmpdir_remove(const char *tmp)
{
	nftw(tmp, tmpdir_remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes len bytes of text to path (made or truncated), then chmods it to mode (no umask). */
static inline void tmpdir_put_file(const char *path, const char *text, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* 1 when this runs as root; else 0, after saying that test is skipped (chown needs root). */
static inline int tmpdir_root_or_skip(const char *test)
{
	if (geteuid() == 0)
		return 1;
	printf("%s: skipped, chown to another user needs root\n", test);
	return 0;
}

/* What a refusal must leave as it was: the bytes, the mode, the owner, the inode, the time. */
struct tmpdir_snapshot {
	char text[8192];
	ssize_t len;
	struct stat st;
};

static inline void tmpdir_snap(const char *path, struct tmpdir_snapshot *s)
{
	int fd;

	memset(s, 0, sizeof(*s));
	ck_assert_int_eq(lstat(path, &s->st), 0);
	fd = open(path, O_RDONLY | O_NONBLOCK);
	s->len = fd < 0 ? -1 : read(fd, s->text, sizeof(s->text));
	if (fd >= 0)
		close(fd);
}

static inline void tmpdir_assert_unchanged(const char *path, const struct tmpdir_snapshot *before)
{
	struct tmpdir_snapshot after;

	tmpdir_snap(path, &after);
	ck_assert_int_eq(after.len, before->len);
	if (after.len > 0)
		ck_assert_mem_eq(after.text, before->text, (size_t)after.len);
	ck_assert_uint_eq(after.st.st_mode, before->st.st_mode);
	ck_assert_uint_eq(after.st.st_uid, before->st.st_uid);
	ck_assert_uint_eq(after.st.st_ino, before->st.st_ino);
	ck_assert_int_eq(after.st.st_mtim.tv_sec, before->st.st_mtim.tv_sec);
	ck_assert_int_eq(after.st.st_mtim.tv_nsec, before->st.st_mtim.tv_nsec);
}

#endif
