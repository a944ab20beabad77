package io.starprompt.cli.report;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class ReportMetricsCsvTest {
    private final List<String> lines = MetricsCsv.toCsv(SampleReports.threeTasks()).lines().toList();

    @Test
    void mainMethodClassIlRowsMatchTheHandComputation() {
        // a = {{90}, {80, 85}, {70, 75, 95}}; row means 90, 82.5, 80; AIA 90, 86.25, 84.1666…
        // forgetting after task 1: 90 − 80; after task 2: ((90 − 70) + (85 − 75)) / 2; BWT the negatives
        List<String> expected = List.of(
                "method,protocol,after_task,metric,task,value",
                "STAR-Prompt,class_il,1,accuracy,1,90.0",
                "STAR-Prompt,class_il,1,average_accuracy,,90.0",
                "STAR-Prompt,class_il,1,aia,,90.0",
                "STAR-Prompt,class_il,1,forgetting,,0.0",
                "STAR-Prompt,class_il,1,bwt,,0.0",
                "STAR-Prompt,class_il,2,accuracy,1,80.0",
                "STAR-Prompt,class_il,2,accuracy,2,85.0",
                "STAR-Prompt,class_il,2,average_accuracy,,82.5",
                "STAR-Prompt,class_il,2,aia,,86.25",
                "STAR-Prompt,class_il,2,forgetting,,10.0",
                "STAR-Prompt,class_il,2,bwt,,-10.0",
                "STAR-Prompt,class_il,3,accuracy,1,70.0",
                "STAR-Prompt,class_il,3,accuracy,2,75.0",
                "STAR-Prompt,class_il,3,accuracy,3,95.0",
                "STAR-Prompt,class_il,3,average_accuracy,,80.0",
                "STAR-Prompt,class_il,3,aia,,84.16666666666667",
                "STAR-Prompt,class_il,3,forgetting,,15.0",
                "STAR-Prompt,class_il,3,bwt,,-15.0");
        assertEquals(expected, lines.subList(0, expected.size()));
    }

    @Test
    void taskIlFollowsAndBaselinesAreQuoted() {
        // per matrix 5 + 6 + 7 lines; the main method has two matrices, the baseline one
        assertEquals(1 + 3 * 18, lines.size());
        assertEquals("STAR-Prompt,task_il,1,accuracy,1,95.0", lines.get(19));
        // Task-IL {{95}, {90, 92}, {88, 89, 97}}: forgetting after task 2 = ((95 − 88) + (92 − 89)) / 2
        assertEquals("STAR-Prompt,task_il,3,forgetting,,5.0", lines.get(35));
        assertEquals("\"CLIP, fixed prompts\",class_il,1,accuracy,1,60.0", lines.get(37));
        assertEquals("\"CLIP, fixed prompts\",class_il,3,average_accuracy,,53.0", lines.get(51));
        assertEquals(0, lines.stream().filter(l -> l.contains("CLIP, fixed prompts,")).count(), "never unquoted");
    }

    @Test
    void fieldsFollowRfc4180() {
        assertEquals("plain", MetricsCsv.field("plain"));
        assertEquals("\"a,b\"", MetricsCsv.field("a,b"));
        assertEquals("\"say \"\"hi\"\"\"", MetricsCsv.field("say \"hi\""));
        assertEquals("\"two\nlines\"", MetricsCsv.field("two\nlines"));
    }
}
