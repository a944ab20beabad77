package io.starprompt.method.common;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

class OrthogonalTest {
    @Test
    void wideMatricesHaveOrthonormalRowsAndTallOnesOrthonormalColumns() {
        for (int[] shape : new int[][] {{5, 12}, {12, 12}, {30, 8}}) {
            int rows = shape[0], cols = shape[1];
            double[] m = Orthogonal.rows(rows, cols, new Random(rows * 100 + cols));
            boolean byRows = rows <= cols;
            int n = byRows ? rows : cols, len = byRows ? cols : rows;
            for (int a = 0; a < n; a++) {
                for (int b = 0; b < n; b++) {
                    double dot = 0;
                    for (int k = 0; k < len; k++) {
                        dot += byRows ? m[a * cols + k] * m[b * cols + k] : m[k * cols + a] * m[k * cols + b];
                    }
                    assertEquals(a == b ? 1.0 : 0.0, dot, 1e-12, rows + "x" + cols + " entry " + a + "," + b);
                }
            }
        }
    }
}
