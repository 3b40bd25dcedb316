# An independent RIM implementation from DEN0137 1.0 descriptor tables (RmiRealmParams, RmmMeasurementDescriptor
# Data/Rec/Ripas), written apart from RealmMeasurement.cs to pin RimTests' construction vectors: python3 rim_crosscheck.py
import hashlib,struct
def H(alg,b):
    d=hashlib.sha256(b).digest() if alg==0 else hashlib.sha512(b).digest()
    return d+bytes(64-len(d))
def params(alg,ipa,bps,wps):
    b=bytearray(4096); b[8]=ipa; b[0x18]=bps-1; b[0x20]=wps-1; b[0x30]=alg; return bytes(b)
def desc(t,rim,tail):
    b=bytearray(256); b[0]=t; struct.pack_into('<Q',b,8,256); b[0x10:0x50]=rim; b[0x50:0x50+len(tail)]=tail; return bytes(b)
def chain(alg):
    rim=H(alg,params(alg,33,6,6))
    # RIPAS 0x80000000..+64MiB -> 32 blocks of 2MiB (ipa 33 -> sizes 4K|2M|1G? )
    base=0x80000000; top=base+64*2**20
    a=base
    while a<top:
        rim=H(alg,desc(2,rim,struct.pack('<QQ',a,a+0x200000))); a+=0x200000
    data=bytes(range(256))*20  # 5120 bytes at base+0x10 -> 2 granules
    padded=bytes(0x10)+data; padded+=bytes((-len(padded))%4096)
    for i in range(0,len(padded),4096):
        rim=H(alg,desc(0,rim,struct.pack('<QQ',base+i,1)+H(alg,padded[i:i+4096])))
    rim=H(alg,desc(0,rim,struct.pack('<QQ',base+0x2000,0)+bytes(64)))
    p=bytearray(4096); struct.pack_into('<Q',p,0,1); struct.pack_into('<Q',p,0x200,base); struct.pack_into('<Q',p,0x300,0x84000000)
    rim=H(alg,desc(1,rim,H(alg,bytes(p))))
    return rim[:32 if alg==0 else 64].hex()
print(chain(0)); print(chain(1))
