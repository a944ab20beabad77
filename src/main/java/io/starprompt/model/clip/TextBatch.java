package io.starprompt.model.clip;

/**
 * Token ids prepared for the text tower: every sequence cut to the same length L = (largest EOS
 * position) + 1. With the causal mask a token never sees later ones, so the EOS outputs equal those
 * of the full 77-token sequences (ALGORITHM.md §10.4); shorter sequences carry a few unused tokens.
 *
 * @param ids  C·L ids, row-major [C, L] (rows shorter than L are padded with 0)
 * @param eos  per sequence, the position that is pooled
 * @param length L
 */
record TextBatch(int[] ids, int[] eos, int length) {

    int sequences() {
        return eos.length;
    }

    /**
     * Validates ids against the text config and finds each pooling position: the first
     * eos_token_id, or the first largest id for configs with the legacy eos_token_id = 2.
     */
    static TextBatch of(int[][] ids, ClipConfig.Text cfg) {
        if (ids == null || ids.length == 0) throw new IllegalArgumentException("text: no token id sequences");
        int[] eos = new int[ids.length];
        int length = 0;
        for (int c = 0; c < ids.length; c++) {
            eos[c] = poolPosition(ids[c], c, cfg);
            length = Math.max(length, eos[c] + 1);
        }
        int[] flat = new int[Math.multiplyExact(ids.length, length)];
        for (int c = 0; c < ids.length; c++) {
            System.arraycopy(ids[c], 0, flat, c * length, Math.min(length, ids[c].length));
        }
        return new TextBatch(flat, eos, length);
    }

    private static int poolPosition(int[] row, int c, ClipConfig.Text cfg) {
        if (row == null || row.length == 0) throw new IllegalArgumentException("text: id sequence " + c + " is empty");
        if (row.length > cfg.maxPositions()) {
            throw new IllegalArgumentException("text: id sequence " + c + " has " + row.length
                    + " tokens, more than max_position_embeddings = " + cfg.maxPositions());
        }
        int pool = -1;
        for (int i = 0; i < row.length; i++) {
            int id = row[i];
            if (id < 0 || id >= cfg.vocabSize()) {
                throw new IllegalArgumentException("text: id sequence " + c + " has id " + id + " at position " + i
                        + ", outside the vocabulary [0, " + cfg.vocabSize() + ")");
            }
            if (cfg.poolsAtLargestId()) {
                if (pool < 0 || id > row[pool]) pool = i;
            } else if (pool < 0 && id == cfg.eosTokenId()) {
                pool = i;
            }
        }
        if (pool < 0) {
            throw new IllegalArgumentException("text: id sequence " + c + " has no end-of-text token (eos_token_id = "
                    + cfg.eosTokenId() + ")");
        }
        return pool;
    }
}
