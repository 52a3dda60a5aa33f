//! A valid component for an unrelated world, which the host must refuse to
//! load as a collector.

wit_bindgen::generate!({
    inline: r"
        package acme:greeter@1.0.0;

        interface greet {
            hello: func() -> string;
        }

        world w {
            export greet;
        }
    ",
    world: "w",
});

use exports::acme::greeter::greet::Guest;

struct Greeter;

impl Guest for Greeter {
    fn hello() -> String {
        "hello from another world".to_owned()
    }
}

export!(Greeter);
