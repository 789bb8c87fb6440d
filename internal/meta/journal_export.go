package meta

// JournalEntry frames pairs as one entry of a journal in the format of
// Local's deferred journal (length, CRC-32C, then the pairs): a process
// that appends it with one write(2) has it back from ReadJournal after a
// crash of that process. Direct service workers journal their run
// records this way.
func JournalEntry(pairs []Pair) []byte { return encodeEntry(pairs) }

// ReadJournal returns the whole entries at the start of data and how
// many bytes they take; a torn or corrupt entry, and what follows it,
// is left out.
func ReadJournal(data []byte) (entries [][]Pair, used int) { return decodeJournal(data) }
