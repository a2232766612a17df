import { describe, expect, it } from "vitest";
import { sshCommand } from "./ssh.ts";

describe("sshCommand", () => {
  it("turns an agent's ssh:// address into the command to paste", () => {
    expect(sshCommand("ssh://root@203.0.113.7:40022")).toBe("ssh -p 40022 root@203.0.113.7");
    expect(sshCommand("ssh://root@gpu-7.example.net:22")).toBe("ssh root@gpu-7.example.net");
    expect(sshCommand("ssh://root@[2001:db8::7]:2222")).toBe("ssh -p 2222 root@2001:db8::7");
  });
  it("shows anything else as it came", () => {
    expect(sshCommand("not a url")).toBe("not a url");
    expect(sshCommand("http://203.0.113.7:8080/")).toBe("http://203.0.113.7:8080/");
  });
});
