#ifndef BERTH_SYSTEM_H
#define BERTH_SYSTEM_H

/// Atomically exchanges two paths (Linux renameat2 with RENAME_EXCHANGE): both names exist
/// throughout. Returns 0, or -1 with errno set (ENOSYS or EINVAL where unsupported).
int berth_exchange_paths(const char *a, const char *b);

#endif
