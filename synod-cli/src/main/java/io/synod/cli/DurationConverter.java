package io.synod.cli;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;

/** A duration as people write it: {@code 500ms}, {@code 2s}, {@code 1m}, {@code 1h}, or ISO {@code PT2S}. */
final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
  private static final Pattern SIMPLE = Pattern.compile("(\\d+)\\s*(ms|s|m|h)");

  @Override
  public Duration convert(String value) {
    String text = value.strip().toLowerCase(Locale.ROOT);
    Matcher simple = SIMPLE.matcher(text);
    Duration duration;
    if (simple.matches()) {
      long amount = Long.parseLong(simple.group(1));
      duration = switch (simple.group(2)) {
        case "ms" -> Duration.ofMillis(amount);
        case "s" -> Duration.ofSeconds(amount);
        case "m" -> Duration.ofMinutes(amount);
        default -> Duration.ofHours(amount);
      };
    } else if (text.equals("0")) {
      duration = Duration.ZERO;
    } else {
      duration = iso(value);
    }
    if (duration.isNegative()) {
      throw new CommandLine.TypeConversionException("'" + value + "' is negative");
    }
    return duration;
  }

  private static Duration iso(String value) {
    try {
      return Duration.parse(value.strip().toUpperCase(Locale.ROOT));
    } catch (DateTimeParseException e) {
      throw new CommandLine.TypeConversionException("'" + value
          + "' is not a duration; write it as 500ms, 2s, 1m or 1h");
    }
  }
}
