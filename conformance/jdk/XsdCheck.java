// The JDK's own XSD 1.0 validator (Xerces-J behind javax.xml.validation) as a second anchor for
// the conformance harnesses: one JVM answers every request of a run.
//
// Run by conformance/engines.py (class Jdk) as `java conformance/jdk/XsdCheck.java` (Java 11+
// single-file launch, no build step). Protocol, one request per line on stdin (UTF-8):
//   S<TAB>schema                 compile the schema only
//   I<TAB>schema<TAB>instance    validate the instance against the schema
//   V                            print the runtime's version
// One answer per request on stdout: outcome<TAB>detail, outcome one of valid, invalid,
// schema-error, error (the outcomes of engines.py). Compiled schemas are cached per path.
//
// Settings: secure processing is off (its limits, e.g. jdk.xml.maxOccurLimit = 5000, are not part
// of XSD 1.0 and would turn valid test schemas into errors); external schema and DTD access is
// allowed (the suites' schemas include and import files next to them). Full schema checking
// (UPA, particle restriction) is the JDK's default.

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import javax.xml.XMLConstants;
import javax.xml.transform.stream.StreamSource;
import javax.xml.validation.Schema;
import javax.xml.validation.SchemaFactory;
import javax.xml.validation.Validator;
import org.xml.sax.SAXException;

public class XsdCheck {
    private static final Map<String, Object> CACHE = new HashMap<>();

    private static SchemaFactory factory() throws SAXException {
        SchemaFactory f = SchemaFactory.newInstance(XMLConstants.W3C_XML_SCHEMA_NS_URI);
        f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, false);
        f.setProperty(XMLConstants.ACCESS_EXTERNAL_SCHEMA, "all");
        f.setProperty(XMLConstants.ACCESS_EXTERNAL_DTD, "all");
        return f;
    }

    /** The compiled schema, or the message of why it did not compile (cached either way). */
    private static Object compile(String path) {
        return CACHE.computeIfAbsent(path, p -> {
            try {
                return factory().newSchema(new File(p));
            } catch (SAXException e) {
                return "" + e.getMessage();
            } catch (RuntimeException | StackOverflowError | OutOfMemoryError e) {
                return "internal: " + e;
            }
        });
    }

    private static String oneLine(String s) {
        if (s == null) {
            return "";
        }
        String t = s.replaceAll("\\s+", " ").trim();
        return t.length() > 300 ? t.substring(0, 299) + "…" : t;
    }

    private static String answer(String line) {
        String[] parts = line.split("\t", -1);
        switch (parts[0]) {
            case "V":
                return "valid\tJava " + System.getProperty("java.version") + " ("
                        + System.getProperty("java.vm.name") + ")";
            case "S": {
                Object s = compile(parts[1]);
                return s instanceof Schema ? "valid\t" : "schema-error\t" + oneLine((String) s);
            }
            case "I": {
                Object s = compile(parts[1]);
                if (!(s instanceof Schema)) {
                    return "schema-error\t" + oneLine((String) s);
                }
                try {
                    Validator v = ((Schema) s).newValidator();
                    v.setProperty(XMLConstants.ACCESS_EXTERNAL_DTD, "all");
                    v.setProperty(XMLConstants.ACCESS_EXTERNAL_SCHEMA, "all");
                    v.validate(new StreamSource(new File(parts[2])));
                    return "valid\t";
                } catch (SAXException e) {
                    return "invalid\t" + oneLine(e.getMessage());
                } catch (Exception | StackOverflowError | OutOfMemoryError e) {
                    return "error\t" + oneLine(e.toString());
                }
            }
            default:
                return "error\tunknown request";
        }
    }

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isEmpty()) {
                continue;
            }
            out.println(answer(line));
            out.flush();
        }
    }
}
