//! `TESSERA_BRAND_COLOR`: the operator's colour, and the colours derived from it so that
//! every text drawn with or on it keeps a WCAG 2.2 contrast of at least 4.5:1 (§1.4.3).
//!
//! The colour fills the buttons; their text is black or white, whichever contrasts more
//! (one of them always reaches 4.58:1). Links are drawn in the colour itself where it
//! contrasts enough with the card, else in the nearest darker shade (light scheme) or
//! lighter shade (dark scheme) that does.

/// The card behind the text in the light and the dark scheme (see `templates/tessera.css`).
pub const LIGHT_CARD: Rgb = Rgb(0xff, 0xff, 0xff);
pub const DARK_CARD: Rgb = Rgb(0x1c, 0x1f, 0x24);
/// WCAG 2.2 §1.4.3, normal text.
pub const MIN_CONTRAST: f64 = 4.5;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// `#rgb` or `#rrggbb`.
    pub fn parse(value: &str) -> Option<Rgb> {
        let hex = value.trim().strip_prefix('#')?;
        if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let digit = |i: usize, len: usize| u8::from_str_radix(hex.get(i..i + len)?, 16).ok();
        match hex.len() {
            3 => Some(Rgb(digit(0, 1)? * 17, digit(1, 1)? * 17, digit(2, 1)? * 17)),
            6 => Some(Rgb(digit(0, 2)?, digit(2, 2)?, digit(4, 2)?)),
            _ => None,
        }
    }

    pub fn css(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// WCAG 2.2 relative luminance.
    fn luminance(self) -> f64 {
        let channel = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(self.0) + 0.7152 * channel(self.1) + 0.0722 * channel(self.2)
    }

    /// This colour moved `step`/16 of the way to `target`.
    fn toward(self, target: Rgb, step: u8) -> Rgb {
        let mix = |a: u8, b: u8| {
            let (a, b, s) = (i32::from(a), i32::from(b), i32::from(step));
            u8::try_from(a + (b - a) * s / 16).unwrap_or(u8::MAX)
        };
        Rgb(
            mix(self.0, target.0),
            mix(self.1, target.1),
            mix(self.2, target.2),
        )
    }
}

/// WCAG 2.2 contrast ratio, from 1 to 21.
pub fn contrast(a: Rgb, b: Rgb) -> f64 {
    let (la, lb) = (a.luminance(), b.luminance());
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

const BLACK: Rgb = Rgb(0, 0, 0);
const WHITE: Rgb = Rgb(0xff, 0xff, 0xff);

/// The colours the stylesheet uses, derived from the brand colour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Palette {
    pub accent: Rgb,
    /// Text on the accent (buttons).
    pub on_accent: Rgb,
    pub link_light: Rgb,
    pub link_dark: Rgb,
}

impl Palette {
    /// The palette for `TESSERA_BRAND_COLOR`, or why the value is refused.
    pub fn for_color(value: &str) -> Result<Palette, String> {
        let accent = Rgb::parse(value).ok_or_else(|| {
            format!("TESSERA_BRAND_COLOR must be a colour as #rgb or #rrggbb: got {value:?}")
        })?;
        let on_accent = if contrast(accent, WHITE) >= contrast(accent, BLACK) {
            WHITE
        } else {
            BLACK
        };
        let ratio = contrast(accent, on_accent);
        if ratio < MIN_CONTRAST {
            return Err(format!(
                "TESSERA_BRAND_COLOR {value} gives button text a contrast of {ratio:.2}:1, below the 4.5:1 that WCAG requires; choose a darker or lighter colour"
            ));
        }
        Ok(Palette {
            accent,
            on_accent,
            link_light: readable_on(accent, LIGHT_CARD, BLACK),
            link_dark: readable_on(accent, DARK_CARD, WHITE),
        })
    }

    /// CSS custom properties overriding the stylesheet's defaults (appended to it).
    pub fn css(&self) -> String {
        format!(
            ":root{{--accent:{};--on-accent:{};--link:{}}}\n@media (prefers-color-scheme: dark){{:root{{--link:{}}}}}\n",
            self.accent.css(),
            self.on_accent.css(),
            self.link_light.css(),
            self.link_dark.css()
        )
    }
}

/// `color`, or the first shade of it toward `extreme` that reaches 4.5:1 on `background`.
fn readable_on(color: Rgb, background: Rgb, extreme: Rgb) -> Rgb {
    (0..=16)
        .map(|step| color.toward(extreme, step))
        .find(|shade| contrast(*shade, background) >= MIN_CONTRAST)
        .unwrap_or(extreme)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_parse_in_both_lengths_and_nothing_else() {
        assert_eq!(Rgb::parse("#1a56db"), Some(Rgb(0x1a, 0x56, 0xdb)));
        assert_eq!(Rgb::parse("#fff"), Some(WHITE));
        for bad in [
            "1a56db",
            "#1a56d",
            "#ggg",
            "#1a56dbff",
            "",
            "#",
            "red",
            "#+12",
        ] {
            assert_eq!(Rgb::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn contrast_matches_wcag_reference_values() {
        assert!((contrast(BLACK, WHITE) - 21.0).abs() < 1e-9);
        assert!((contrast(Rgb(0x77, 0x77, 0x77), WHITE) - 4.48).abs() < 0.01);
    }

    #[test]
    fn every_derived_text_colour_reaches_four_and_a_half() {
        for value in [
            "#ffeb3b", "#1a56db", "#777", "#000", "#fff", "#e91e63", "#00ff00",
        ] {
            let palette = Palette::for_color(value).unwrap();
            assert!(
                contrast(palette.accent, palette.on_accent) >= MIN_CONTRAST,
                "{value}"
            );
            assert!(
                contrast(palette.link_light, LIGHT_CARD) >= MIN_CONTRAST,
                "{value}"
            );
            assert!(
                contrast(palette.link_dark, DARK_CARD) >= MIN_CONTRAST,
                "{value}"
            );
        }
        // A light yellow gets black button text and a darkened link colour.
        let yellow = Palette::for_color("#ffeb3b").unwrap();
        assert_eq!(yellow.on_accent, BLACK);
        assert_ne!(yellow.link_light, yellow.accent);
        // A dark blue keeps its own colour for links on white.
        let blue = Palette::for_color("#1a56db").unwrap();
        assert_eq!((blue.on_accent, blue.link_light), (WHITE, blue.accent));
    }

    #[test]
    fn a_refused_colour_names_the_setting() {
        let refused = Palette::for_color("blue").unwrap_err();
        assert!(refused.contains("TESSERA_BRAND_COLOR"), "{refused}");
    }
}
