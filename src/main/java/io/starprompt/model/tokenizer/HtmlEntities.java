package io.starprompt.model.tokenizer;

import java.math.BigInteger;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * HTML character-reference decoding with the rules of Python's {@code html.unescape} and of
 * ftfy's {@code unescape_html}, over a subset of the HTML5 entity table.
 *
 * <p>Covered: every numeric reference (decimal and hex, with Python's replacements for NUL, C1
 * (Windows-1252), surrogate and out-of-range code points, and removal of non-characters), and
 * 259 named entities: all of HTML 4.01 (Latin-1, symbols, Greek, punctuation), {@code &apos;} and
 * the upper-case spellings {@code &AMP; &LT; &GT; &QUOT; &COPY; &REG;}, with HTML5's values (which
 * differ from HTML 4 only for {@code &lang;}/{@code &rang;}). These include all 106 names HTML5
 * accepts without a ';'. The ~2,000 HTML5-only names (e.g. {@code &NotEqual;}) are left undecoded:
 * they practically never occur in class names or captions.
 */
final class HtmlEntities {
    /** Names of U+00A0..U+00FF, in code-point order; HTML5 decodes these even without a ';'. */
    private static final String[] LATIN1 = ("nbsp iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy"
            + " reg macr deg plusmn sup2 sup3 acute micro para middot cedil sup1 ordm raquo frac14 frac12 frac34"
            + " iquest Agrave Aacute Acirc Atilde Auml Aring AElig Ccedil Egrave Eacute Ecirc Euml Igrave Iacute"
            + " Icirc Iuml ETH Ntilde Ograve Oacute Ocirc Otilde Ouml times Oslash Ugrave Uacute Ucirc Uuml Yacute"
            + " THORN szlig agrave aacute acirc atilde auml aring aelig ccedil egrave eacute ecirc euml igrave"
            + " iacute icirc iuml eth ntilde ograve oacute ocirc otilde ouml divide oslash ugrave uacute ucirc uuml"
            + " yacute thorn yuml").split(" ");

    /** The other HTML5 "legacy" names that may appear without a ';'. */
    private static final String LEGACY_OTHERS = "amp=26 lt=3C gt=3E quot=22 AMP=26 LT=3C GT=3E QUOT=22 COPY=A9 REG=AE";

    /** The rest of HTML 4.01 (plus apos), which need the ';'; values are hex code points. */
    private static final String SEMICOLON_ONLY = "apos=27 OElig=152 oelig=153 Scaron=160 scaron=161 Yuml=178 fnof=192"
            + " circ=2C6 tilde=2DC ensp=2002 emsp=2003 thinsp=2009 zwnj=200C zwj=200D lrm=200E rlm=200F"
            + " ndash=2013 mdash=2014 lsquo=2018 rsquo=2019 sbquo=201A ldquo=201C rdquo=201D bdquo=201E"
            + " dagger=2020 Dagger=2021 bull=2022 hellip=2026 permil=2030 prime=2032 Prime=2033 lsaquo=2039"
            + " rsaquo=203A oline=203E frasl=2044 euro=20AC image=2111 weierp=2118 real=211C trade=2122"
            + " alefsym=2135 larr=2190 uarr=2191 rarr=2192 darr=2193 harr=2194 crarr=21B5 lArr=21D0 uArr=21D1"
            + " rArr=21D2 dArr=21D3 hArr=21D4 forall=2200 part=2202 exist=2203 empty=2205 nabla=2207 isin=2208"
            + " notin=2209 ni=220B prod=220F sum=2211 minus=2212 lowast=2217 radic=221A prop=221D infin=221E"
            + " ang=2220 and=2227 or=2228 cap=2229 cup=222A int=222B there4=2234 sim=223C cong=2245 asymp=2248"
            + " ne=2260 equiv=2261 le=2264 ge=2265 sub=2282 sup=2283 nsub=2284 sube=2286 supe=2287 oplus=2295"
            + " otimes=2297 perp=22A5 sdot=22C5 lceil=2308 rceil=2309 lfloor=230A rfloor=230B lang=27E8"
            + " rang=27E9 loz=25CA spades=2660 clubs=2663 hearts=2665 diams=2666 thetasym=3D1 upsih=3D2 piv=3D6"
            + " sigmaf=3C2";

    /** Greek letters: capitals from U+0391 (no U+03A2), small letters = capital + 0x20. */
    private static final String[] GREEK = ("Alpha Beta Gamma Delta Epsilon Zeta Eta Theta Iota Kappa Lambda Mu Nu Xi"
            + " Omicron Pi Rho - Sigma Tau Upsilon Phi Chi Psi Omega").split(" ");

    /** name (without '&' and ';') → replacement, for names that require the ';'. */
    private static final Map<String, String> NAMED = new HashMap<>();
    /** Names that HTML5 also accepts without the ';' (a subset of NAMED's keys). */
    private static final Set<String> LEGACY = new HashSet<>();
    /** ftfy's extra table: upper-cased names ("&EACUTE;") mapped to the upper-cased character. */
    private static final Map<String, String> FTFY_UPPER = new HashMap<>();

    /** Python's {@code _charref}: numeric references and up to 32 name characters. */
    private static final Pattern PYTHON_REF = Pattern.compile("&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\\t\\n\\f <&#;]{1,32};?)");
    /** ftfy's {@code HTML_ENTITY_RE}: only references closed by ';'. */
    private static final Pattern FTFY_REF = Pattern.compile("&#?[0-9A-Za-z]{1,24};");

    /** Python's {@code _invalid_charrefs} for 0x80..0x9F: what Windows-1252 puts there (undefined bytes kept). */
    private static final int[] CP1252_C1 = {
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D, 0x017D, 0x8F,
        0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
    };

    static {
        for (int i = 0; i < LATIN1.length; i++) addLegacy(LATIN1[i], 0xA0 + i);
        for (String kv : LEGACY_OTHERS.split(" ")) addLegacy(kv.split("=")[0], Integer.parseInt(kv.split("=")[1], 16));
        for (String kv : SEMICOLON_ONLY.split(" ")) NAMED.put(kv.split("=")[0], cp(Integer.parseInt(kv.split("=")[1], 16)));
        for (int i = 0; i < GREEK.length; i++) {
            if (GREEK[i].equals("-")) continue;
            NAMED.put(GREEK[i], cp(0x391 + i));
            NAMED.put(GREEK[i].toLowerCase(Locale.ROOT), cp(0x3B1 + i));
        }
        buildFtfyUpperCaseTable();
    }

    private HtmlEntities() {}

    private static void addLegacy(String name, int codePoint) {
        NAMED.put(name, cp(codePoint));
        LEGACY.add(name);
    }

    private static String cp(int codePoint) {
        return new String(Character.toChars(codePoint));
    }

    /** ftfy also decodes all-caps spellings of lower-case names when they are not entities themselves. */
    private static void buildFtfyUpperCaseTable() {
        for (Map.Entry<String, String> e : NAMED.entrySet()) {
            String name = e.getKey();
            if (!name.equals(name.toLowerCase(Locale.ROOT))) continue;
            String upper = name.toUpperCase(Locale.ROOT);
            if (!NAMED.containsKey(upper)) FTFY_UPPER.put(upper, e.getValue().toUpperCase(Locale.ROOT));
        }
    }

    /** Number of named entities known (for documentation and tests). */
    static int namedCount() {
        return NAMED.size();
    }

    /** What Windows-1252 puts at byte {@code c} (0x80..0x9F); its five undefined bytes map to themselves. */
    static char windows1252(char c) {
        return (char) CP1252_C1[c - 0x80];
    }

    /** One pass of Python's {@code html.unescape}. */
    static String unescapePython(String s) {
        if (s.indexOf('&') < 0) return s;
        Matcher m = PYTHON_REF.matcher(s);
        StringBuilder out = new StringBuilder(s.length());
        while (m.find()) m.appendReplacement(out, Matcher.quoteReplacement(replacePython(m.group(1))));
        m.appendTail(out);
        return out.toString();
    }

    private static String replacePython(String ref) {
        if (ref.charAt(0) == '#') return numeric(ref);
        String name = ref.endsWith(";") ? ref.substring(0, ref.length() - 1) : ref;
        if (ref.endsWith(";") && NAMED.containsKey(name)) return NAMED.get(name);
        if (!ref.endsWith(";") && LEGACY.contains(name)) return NAMED.get(name);
        // Python then tries the longest prefix that is a name valid without ';' ("&notit;" → "¬it;").
        for (int x = ref.length() - 1; x > 1; x--) {
            String prefix = ref.substring(0, x);
            if (LEGACY.contains(prefix)) return NAMED.get(prefix) + ref.substring(x);
        }
        return "&" + ref;
    }

    /** A numeric reference "#65", "#x41;" … decoded as Python does. */
    private static String numeric(String ref) {
        String digits = ref.endsWith(";") ? ref.substring(0, ref.length() - 1) : ref;
        boolean hex = digits.length() > 1 && (digits.charAt(1) == 'x' || digits.charAt(1) == 'X');
        BigInteger big = new BigInteger(digits.substring(hex ? 2 : 1), hex ? 16 : 10);
        if (big.bitLength() > 31) return "\uFFFD";
        int n = big.intValue();
        if (n == 0) return "\uFFFD";
        if (n == 0x0D) return "\r";
        if (n >= 0x80 && n <= 0x9F) return cp(CP1252_C1[n - 0x80]);
        if ((n >= 0xD800 && n <= 0xDFFF) || n > 0x10FFFF) return "\uFFFD";
        if (isInvalidCodePoint(n)) return "";
        return cp(n);
    }

    /** Python's {@code _invalid_codepoints}: C0/C1 controls (bar tab, LF, FF, CR) and non-characters. */
    private static boolean isInvalidCodePoint(int n) {
        return (n >= 0x1 && n <= 0x8) || n == 0xB || (n >= 0xE && n <= 0x1F) || (n >= 0x7F && n <= 0x9F)
                || (n >= 0xFDD0 && n <= 0xFDEF) || (n & 0xFFFE) == 0xFFFE;
    }

    /** One pass of ftfy's {@code unescape_html}: only ';'-terminated references are decoded. */
    static String unescapeFtfy(String s) {
        if (s.indexOf('&') < 0) return s;
        Matcher m = FTFY_REF.matcher(s);
        StringBuilder out = new StringBuilder(s.length());
        while (m.find()) m.appendReplacement(out, Matcher.quoteReplacement(replaceFtfy(m.group())));
        m.appendTail(out);
        return out.toString();
    }

    private static String replaceFtfy(String entity) {
        String name = entity.substring(1, entity.length() - 1);
        if (NAMED.containsKey(name)) return NAMED.get(name);
        if (FTFY_UPPER.containsKey(name)) return FTFY_UPPER.get(name);
        if (name.startsWith("#")) {
            // ftfy keeps the reference when Python would decode only a prefix of it ("&#12ab;").
            Matcher m = PYTHON_REF.matcher(entity);
            if (m.matches()) return numeric(m.group(1));
        }
        return entity;
    }
}
